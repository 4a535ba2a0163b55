// RUN: ziggurat-opt %s --load-plugin %S/parallel_batch.py -p 'convert-graph-to-te,convert-te-to-sched,parallel-batch{prefix=matmul}' | filecheck %s

// CHECK-LABEL: func.func private @matmul_0
// CHECK:         sched.for %{{.*}} = 0 to 8 step 1 parallel {
// CHECK-LABEL: func.func private @relu_0
// CHECK-NOT:     parallel
func.func @main(%a: tensor<8x16xf32>, %b: tensor<16x4xf32>) -> tensor<8x4xf32> {
  %0 = graph.matmul %a, %b : (tensor<8x16xf32>, tensor<16x4xf32>) -> tensor<8x4xf32>
  %1 = graph.relu %0 : tensor<8x4xf32>
  func.return %1 : tensor<8x4xf32>
}
