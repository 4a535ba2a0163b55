// RUN: ziggurat-opt %s --split-input-file -p graph-fold-if | filecheck %s

// A constant true condition: the then branch's ops take the If's place.
// CHECK-LABEL: func.func @main
// CHECK-NEXT:    %[[T:.*]] = graph.add %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:    %[[R:.*]] = graph.relu %[[T]] : tensor<4xf32>
// CHECK-NEXT:    func.return %[[R]] : tensor<4xf32>
func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  %c = graph.constant dense<true> : tensor<i1>
  %r = graph.if %c : tensor<i1> -> (tensor<4xf32>) {
    %t = graph.add %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    graph.yield %t : tensor<4xf32>
  } else {
    %e = graph.mul %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    graph.yield %e : tensor<4xf32>
  }
  %o = graph.relu %r : tensor<4xf32>
  func.return %o : tensor<4xf32>
}

// -----

// A constant false condition takes the else branch, which may yield an outer value.
// CHECK-LABEL: func.func @outer
// CHECK-NEXT:    func.return %x : tensor<4xf32>
func.func @outer(%x: tensor<4xf32>) -> tensor<4xf32> {
  %c = graph.constant dense<false> : tensor<i1>
  %r = graph.if %c : tensor<i1> -> (tensor<4xf32>) {
    %t = graph.add %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    graph.yield %t : tensor<4xf32>
  } else {
    graph.yield %x : tensor<4xf32>
  }
  func.return %r : tensor<4xf32>
}

// -----

// A condition known only at run time stays.
// CHECK-LABEL: func.func @runtime
// CHECK:         graph.if %c
func.func @runtime(%x: tensor<4xf32>, %c: tensor<i1>) -> tensor<4xf32> {
  %r = graph.if %c : tensor<i1> -> (tensor<4xf32>) {
    graph.yield %x : tensor<4xf32>
  } else {
    %e = graph.neg %x : tensor<4xf32>
    graph.yield %e : tensor<4xf32>
  }
  func.return %r : tensor<4xf32>
}
