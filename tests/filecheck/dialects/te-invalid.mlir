// RUN: ziggurat-opt %s --split-input-file --verify-diagnostics | filecheck %s

func.func private @rank(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = te.compute (%i, %j) : tensor<4xf32> {
    %v = te.read %x[%i] : tensor<4xf32>
    te.yield %v : f32
  }
  func.return %y : tensor<4xf32>
}
// CHECK: te.compute body has 2 index arguments but its index space has rank 1.

// -----

func.func private @read_rank(%x: tensor<4x4xf32>) -> tensor<4xf32> {
  %y = te.compute (%i) : tensor<4xf32> {
    %v = te.read %x[%i] : tensor<4x4xf32>
    te.yield %v : f32
  }
  func.return %y : tensor<4xf32>
}
// CHECK: te.read of a rank-2 tensor needs 2 indices, got 1.

// -----

func.func private @kind(%x: tensor<4xf32>) -> tensor<f32> {
  %y = te.compute () : tensor<f32> {
    %z = arith.constant 0.0 : f32
    %s = te.reduce mean (%k) in [4] init %z : f32 {
      %v = te.read %x[%k] : tensor<4xf32>
      te.yield %v : f32
    }
    te.yield %s : f32
  }
  func.return %y : tensor<f32>
}
// CHECK: te.reduce kind must be one of sum, max, min, prod, got 'mean'.

// -----

func.func private @yield_type(%x: tensor<4xf32>) -> tensor<4xf64> {
  %y = te.compute (%i) : tensor<4xf64> {
    %v = te.read %x[%i] : tensor<4xf32>
    te.yield %v : f32
  }
  func.return %y : tensor<4xf64>
}
// CHECK: te.compute yields f32 but its tensor holds f64.
