// RUN: ziggurat-opt %s --split-input-file -p convert-graph-to-te,convert-te-to-sched | filecheck %s --check-prefix=SCHED
// RUN: ziggurat-opt %s --split-input-file -p 'convert-graph-to-te,convert-te-to-sched,convert-sched-to-target{target="llvm -mtriple=x86_64-unknown-linux-gnu -mcpu=haswell -num-cores=1"}' | filecheck %s --check-prefix=ENTRY
// RUN: ziggurat-opt %s --split-input-file -p 'convert-graph-to-te,convert-te-to-sched,convert-sched-to-target{target="llvm -mtriple=x86_64-unknown-linux-gnu -mcpu=haswell -num-cores=1"},convert-target-to-llvm' | filecheck %s --check-prefix=LLVM

// graph.if: the condition is loaded from its buffer, and each branch's kernel writes the If's
// result buffer; the entry keeps the scf.if around the launches, LLVM gets a branch.
// SCHED-LABEL: func.func @main
// SCHED:         %[[R:.*]] = sched.alloc : memref<4xf32>
// SCHED:         %[[C:.*]] = memref.load %c[] : memref<i1>
// SCHED-NEXT:    scf.if %[[C]] {
// SCHED-NEXT:      func.call @add_0(%x, %x, %[[R]])
// SCHED-NEXT:    } else {
// SCHED-NEXT:      func.call @relu_0(%x, %[[R]])
// SCHED-NEXT:    }
// SCHED-NEXT:    func.call @neg_0(%[[R]], %{{.*}})
// ENTRY-LABEL: target.entry @main
// ENTRY:         %[[C:.*]] = memref.load %{{.*}}[] : memref<i1>
// ENTRY-NEXT:    scf.if %[[C]] {
// ENTRY-NEXT:      target.launch @add_0
// ENTRY-NEXT:    } else {
// ENTRY-NEXT:      target.launch @relu_0
// ENTRY-NEXT:    }
// ENTRY-NEXT:    target.launch @neg_0
// LLVM-LABEL: llvm.func @main(
// LLVM:         %[[C:.*]] = llvm.load %{{.*}} : !llvm.ptr -> i1
// LLVM-NEXT:    llvm.cond_br %[[C]], ^[[THEN:.*]], ^[[ELSE:.*]]
// LLVM-NEXT:  ^[[THEN]]:
// LLVM-NEXT:    llvm.call @add_0
// LLVM:       ^[[ELSE]]:
// LLVM-NEXT:    llvm.call @relu_0
// LLVM:         llvm.call @neg_0
func.func @main(%x: tensor<4xf32>, %c: tensor<i1>) -> tensor<4xf32> {
  %r = graph.if %c : tensor<i1> -> (tensor<4xf32>) {
    %t = graph.add %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    graph.yield %t : tensor<4xf32>
  } else {
    %e = graph.relu %x : tensor<4xf32>
    graph.yield %e : tensor<4xf32>
  }
  %o = graph.neg %r : tensor<4xf32>
  func.return %o : tensor<4xf32>
}

// -----

// graph.loop with a constant trip count: the carried value starts as a copy of the initial
// one in the (output) state buffer, the body computes the next value into its own buffer and
// a copy moves it back; the scan element is written straight into its row (flow.slice).
// scf.while becomes a header block (i < M && cond) and a body block branching back.
// SCHED-LABEL: func.func @loop
// SCHED-SAME:    (%x: memref<4xf32>, %[[S:.*]]: memref<4xf32> {sched.output}, %[[ROWS:.*]]: memref<3x4xf32> {sched.output})
// SCHED-NEXT:    %[[NEXT:.*]] = sched.alloc : memref<4xf32>
// SCHED-NEXT:    func.call @loop_copy_0(%x, %[[S]])
// SCHED-NEXT:    %[[M:.*]] = arith.constant 3 : i64
// SCHED:         scf.while (%[[I0:.*]] = %{{.*}}, %[[C0:.*]] = %{{.*}}) : (i64, i1) -> (i64, i1) {
// SCHED-NEXT:      %[[LT:.*]] = arith.cmpi slt, %[[I0]], %[[M]] : i64
// SCHED-NEXT:      %[[GO:.*]] = arith.andi %[[LT]], %[[C0]] : i1
// SCHED-NEXT:      scf.condition(%[[GO]]) %[[I0]], %[[C0]] : i64, i1
// SCHED-NEXT:    } do {
// SCHED-NEXT:    ^{{.*}}(%[[I:.*]]: i64, %{{.*}}: i1):
// SCHED-NEXT:      %[[ROW:.*]] = flow.slice %[[ROWS]][%[[I]]] : memref<3x4xf32>, i64 -> memref<4xf32>
// SCHED-NEXT:      func.call @add_0(%[[S]], %x, %[[NEXT]])
// SCHED-NEXT:      func.call @relu_0(%[[NEXT]], %[[ROW]])
// SCHED-NEXT:      func.call @loop_copy_0(%[[NEXT]], %[[S]])
// SCHED:           scf.yield
// SCHED:         func.return
// ENTRY-LABEL: target.entry @loop
// ENTRY:         scf.while
// ENTRY:           flow.slice
// ENTRY-NEXT:      target.launch @add_0
// ENTRY-NEXT:      target.launch @relu_0
// ENTRY-NEXT:      target.launch @loop_copy_0
// LLVM-LABEL: llvm.func @loop(
// LLVM:         llvm.br ^[[HEAD:.*]](%{{.*}}, %{{.*}} : i64, i1)
// LLVM-NEXT:  ^[[HEAD]](%[[I:.*]]: i64, %[[C:.*]]: i1):
// LLVM-NEXT:    %[[LT:.*]] = llvm.icmp "slt" %[[I]], %{{.*}} : i64
// LLVM-NEXT:    %[[GO:.*]] = llvm.and %[[LT]], %[[C]] : i1
// LLVM-NEXT:    llvm.cond_br %[[GO]], ^[[BODY:.*]](%[[I]], %[[C]] : i64, i1), ^[[EXIT:.*]](%[[I]], %[[C]] : i64, i1)
// LLVM-NEXT:  ^[[BODY]](%[[J:.*]]: i64, %{{.*}}: i1):
// LLVM-NEXT:    %[[ROW:.*]] = llvm.getelementptr inbounds %{{.*}}[%[[J]]] : (!llvm.ptr, i64) -> !llvm.ptr, !llvm.array<4 x f32>
// LLVM:         llvm.call @relu_0(%{{.*}}, %[[ROW]])
// LLVM:         llvm.br ^[[HEAD]]
// LLVM-NEXT:  ^[[EXIT]](%{{.*}}: i64, %{{.*}}: i1):
// LLVM-NEXT:    llvm.return
func.func @loop(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<3x4xf32>) {
  %s, %rows = "graph.loop"(%x) <{trip_count = 3 : i64, operandSegmentSizes = array<i32: 0, 0, 1>}> ({
  ^bb0(%i: tensor<i64>, %cond: tensor<i1>, %v: tensor<4xf32>):
    %n = graph.add %v, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %r = graph.relu %n : tensor<4xf32>
    %t = graph.constant dense<true> : tensor<i1>
    graph.yield %t, %n, %r : tensor<i1>, tensor<4xf32>, tensor<4xf32>
  }) : (tensor<4xf32>) -> (tensor<4xf32>, tensor<3x4xf32>)
  func.return %s, %rows : tensor<4xf32>, tensor<3x4xf32>
}
