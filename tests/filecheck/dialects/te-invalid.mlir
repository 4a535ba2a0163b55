// RUN: ziggurat-opt %s --split-input-file --verify-expected-diagnostics

func.func private @rank(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{body has 2 index arguments but its index space has rank 1}}
  %y = te.compute (%i, %j) : tensor<4xf32> {
    %v = te.read %x[%i] : tensor<4xf32>
    te.yield %v : f32
  }
  func.return %y : tensor<4xf32>
}

// -----

func.func private @read_rank(%x: tensor<4x4xf32>) -> tensor<4xf32> {
  %y = te.compute (%i) : tensor<4xf32> {
    // expected-error@+1 {{of a rank-2 tensor needs 2 indices, got 1}}
    %v = te.read %x[%i] : tensor<4x4xf32>
    te.yield %v : f32
  }
  func.return %y : tensor<4xf32>
}

// -----

func.func private @kind(%x: tensor<4xf32>) -> tensor<f32> {
  %y = te.compute () : tensor<f32> {
    %z = arith.constant 0.0 : f32
    // expected-error@+1 {{kind must be one of sum, max, min, prod, got 'mean'}}
    %s = te.reduce mean (%k) in [4] init %z : f32 {
      %v = te.read %x[%k] : tensor<4xf32>
      te.yield %v : f32
    }
    te.yield %s : f32
  }
  func.return %y : tensor<f32>
}

// -----

func.func private @yield_type(%x: tensor<4xf32>) -> tensor<4xf64> {
  // expected-error@+1 {{yields f32 but its tensor holds f64}}
  %y = te.compute (%i) : tensor<4xf64> {
    %v = te.read %x[%i] : tensor<4xf32>
    te.yield %v : f32
  }
  func.return %y : tensor<4xf64>
}
