// RUN: ziggurat-opt %s --split-input-file --verify-expected-diagnostics

func.func @branch_shapes(%x: tensor<4xf32>, %c: tensor<i1>) -> tensor<4xf32> {
  // expected-error@+1 {{else region yields (tensor<2x2xf32>), but the op gives (tensor<4xf32>)}}
  %r = graph.if %c : tensor<i1> -> (tensor<4xf32>) {
    graph.yield %x : tensor<4xf32>
  } else {
    %e = graph.reshape %x : tensor<4xf32> -> tensor<2x2xf32>
    graph.yield %e : tensor<2x2xf32>
  }
  func.return %r : tensor<4xf32>
}

// -----

func.func @condition_type(%x: tensor<4xf32>, %c: tensor<2xi1>) -> tensor<4xf32> {
  // expected-error@+1 {{condition must be a one-element i1 tensor, got tensor<2xi1>}}
  %r = graph.if %c : tensor<2xi1> -> (tensor<4xf32>) {
    graph.yield %x : tensor<4xf32>
  } else {
    graph.yield %x : tensor<4xf32>
  }
  func.return %r : tensor<4xf32>
}

// -----

func.func @body_arguments(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{body takes 2 arguments, but needs 2 + 1 (iteration number, condition, carried values)}}
  %s = "graph.loop"(%x) <{trip_count = 3 : i64, operandSegmentSizes = array<i32: 0, 0, 1>}> ({
  ^bb0(%i: tensor<i64>, %cond: tensor<i1>):
    graph.yield %cond, %x : tensor<i1>, tensor<4xf32>
  }) : (tensor<4xf32>) -> (tensor<4xf32>)
  func.return %s : tensor<4xf32>
}

// -----

func.func @carried_type(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{carried values (tensor<4xf32>) change type in the body ((tensor<2x2xf32>)) or the results.}}
  %s = "graph.loop"(%x) <{trip_count = 3 : i64, operandSegmentSizes = array<i32: 0, 0, 1>}> ({
  ^bb0(%i: tensor<i64>, %cond: tensor<i1>, %v: tensor<4xf32>):
    %n = graph.reshape %v : tensor<4xf32> -> tensor<2x2xf32>
    graph.yield %cond, %n : tensor<i1>, tensor<2x2xf32>
  }) : (tensor<4xf32>) -> (tensor<4xf32>)
  func.return %s : tensor<4xf32>
}

// -----

func.func @scan_without_trip_count(%x: tensor<4xf32>, %m: tensor<i64>) -> tensor<3x4xf32> {
  // expected-error@+1 {{scan outputs need a trip count known at build time.}}
  %s, %rows = "graph.loop"(%m, %x) <{operandSegmentSizes = array<i32: 1, 0, 1>}> ({
  ^bb0(%i: tensor<i64>, %cond: tensor<i1>, %v: tensor<4xf32>):
    graph.yield %cond, %v, %v : tensor<i1>, tensor<4xf32>, tensor<4xf32>
  }) : (tensor<i64>, tensor<4xf32>) -> (tensor<4xf32>, tensor<3x4xf32>)
  func.return %rows : tensor<3x4xf32>
}

// -----

func.func @scan_slices(%s0: tensor<2xf32>, %x: tensor<2x5xf32>) -> tensor<2xf32> {
  // expected-error@+1 {{body takes (tensor<2xf32>, tensor<5xf32>), but needs the states and one slice of each scan input (tensor<2xf32>, tensor<2xf32>).}}
  %s = "graph.scan"(%s0, %x) <{scan_input_axes = [1 : i64], scan_input_directions = [0 : i64], scan_output_axes = [], scan_output_directions = [], num_scan_inputs = 1 : i64}> ({
  ^bb0(%0: tensor<2xf32>, %1: tensor<5xf32>):
    graph.yield %0 : tensor<2xf32>
  }) : (tensor<2xf32>, tensor<2x5xf32>) -> (tensor<2xf32>)
  func.return %s : tensor<2xf32>
}
