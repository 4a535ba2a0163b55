// RUN: ziggurat-opt %s --split-input-file -p 'graph-alter-layout{block=4 min-convs=1}' | filecheck %s
// RUN: ziggurat-opt %s --split-input-file -p 'graph-alter-layout{block=4 min-convs=3}' | filecheck %s --check-prefix=FEW
// RUN: ziggurat-opt %s --split-input-file -p 'graph-alter-layout{min-convs=1}' | filecheck %s --check-prefix=TARGET
// RUN: ziggurat-opt %s --split-input-file -p 'graph-alter-layout{block=4 min-convs=1},graph-fuse-ops' | filecheck %s --check-prefix=FUSED

// A chain in NCHW4c: the input is laid out once, the weights are blocked now (OIHW4i4o, and
// OIHW1i4o for the depthwise conv), the per-channel constant is re-laid out, relu, the
// residual add and the pool stay blocked, and one transform back leaves the chain.
// CHECK-LABEL: func.func @chain
// CHECK-NEXT:    %[[K:.*]] = graph.constant dense<{{\[\[\[\[\[}}1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]]], {{\[\[\[}}5.000000e+00, 6.000000e+00, 7.000000e+00, 8.000000e+00]]]]]> : tensor<1x2x1x1x4xf32>
// CHECK-NEXT:    %[[X:.*]] = graph.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW4c"} : tensor<1x8x4x4xf32> -> tensor<1x2x4x4x4xf32>
// CHECK-NEXT:    %[[B:.*]] = graph.constant dense<2.500000e-01> : tensor<8xf32>
// CHECK-NEXT:    %[[W1:.*]] = graph.weight "blocked_weight_{{[0-9]+}}" : tensor<2x2x3x3x4x4xf32>
// CHECK-NEXT:    %[[C1:.*]] = graph.conv_nchwc %[[X]], %[[W1]], %[[B]] {{.*}} : (tensor<1x2x4x4x4xf32>, tensor<2x2x3x3x4x4xf32>, tensor<8xf32>) -> tensor<1x2x4x4x4xf32>
// CHECK-NEXT:    %[[A:.*]] = graph.add %[[C1]], %[[K]]
// CHECK-NEXT:    %[[R:.*]] = graph.relu %[[A]] : tensor<1x2x4x4x4xf32>
// CHECK-NEXT:    %[[W2:.*]] = graph.weight "blocked_weight_{{[0-9]+}}" : tensor<2x1x3x3x1x4xf32>
// CHECK-NEXT:    %[[C2:.*]] = graph.conv_nchwc %[[R]], %[[W2]], %[[B]] {{.*}} groups = 8 : i64}
// CHECK-NEXT:    %[[S:.*]] = graph.add %[[C2]], %[[R]] : (tensor<1x2x4x4x4xf32>, tensor<1x2x4x4x4xf32>) -> tensor<1x2x4x4x4xf32>
// CHECK-NEXT:    %[[P:.*]] = graph.pool_nchwc %[[S]] {kind = "max", {{.*}}} : tensor<1x2x4x4x4xf32> -> tensor<1x2x2x2x4xf32>
// CHECK-NEXT:    %[[Y:.*]] = graph.layout_transform %[[P]] {src_layout = "NCHW4c", dst_layout = "NCHW"} : tensor<1x2x2x2x4xf32> -> tensor<1x8x2x2xf32>
// CHECK-NEXT:    func.return %[[Y]]
// A function with fewer convertible convolutions than min-convs (here 2 < 3) stays in NCHW:
// the transforms would cost more than the blocked kernels save.
// FEW-LABEL: func.func @chain
// FEW-NOT:     graph.layout_transform
// FEW:         graph.conv %x
// With the default block of 16, eight channels take half a block: the chain runs in NCHW8c.
// TARGET-LABEL: func.func @chain
// TARGET:        graph.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW8c"}
// TARGET:        graph.conv_nchwc {{.*}} -> tensor<1x1x4x4x8xf32>
// Blocked convolutions fuse with their bias add and relu, and with the residual add.
// FUSED-LABEL: func.func @chain
// FUSED:         graph.fused {{.*}} {kind = "conv_nchwc_add_relu"}
// FUSED:         graph.fused {{.*}} {kind = "conv_nchwc_add"}
// FUSED:         graph.pool_nchwc
func.func @chain(%x: tensor<1x8x4x4xf32>) -> tensor<1x8x2x2xf32> {
  %w1 = graph.constant dense<0.5> : tensor<8x8x3x3xf32>
  %b1 = graph.constant dense<0.25> : tensor<8xf32>
  %c1 = graph.conv %x, %w1, %b1 {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x8x4x4xf32>, tensor<8x8x3x3xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  %k = graph.constant dense<[[[1.0]], [[2.0]], [[3.0]], [[4.0]], [[5.0]], [[6.0]], [[7.0]], [[8.0]]]> : tensor<8x1x1xf32>
  %a = graph.add %c1, %k : (tensor<1x8x4x4xf32>, tensor<8x1x1xf32>) -> tensor<1x8x4x4xf32>
  %r = graph.relu %a : tensor<1x8x4x4xf32>
  %w2 = graph.constant dense<0.125> : tensor<8x1x3x3xf32>
  %c2 = graph.conv %r, %w2, %b1 {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 8 : i64} : (tensor<1x8x4x4xf32>, tensor<8x1x3x3xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  %s = graph.add %c2, %r : (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  %p = graph.pool %s {kind = "max", kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = 0 : i64, count_include_pad = 0 : i64} : tensor<1x8x4x4xf32> -> tensor<1x8x2x2xf32>
  func.return %p : tensor<1x8x2x2xf32>
}

// -----

// Three input channels do not fill a block: the stem reads its input in blocks of one
// channel (NCHW1c, weight OIHW1i4o) and the chain starts at the network's input. A channel
// concat and a slice of whole blocks stay blocked; the softmax reads one blocked value
// through a transform back, the function returns another.
// CHECK-LABEL: func.func @borders
// CHECK-NEXT:    %[[X1:.*]] = graph.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW1c"} : tensor<1x3x4x4xf32> -> tensor<1x3x4x4x1xf32>
// CHECK:         %[[W1:.*]] = graph.weight "blocked_weight_{{[0-9]+}}" : tensor<2x3x1x1x1x4xf32>
// CHECK-NEXT:    %[[C1:.*]] = graph.conv_nchwc %[[X1]], %[[W1]], {{.*}} -> tensor<1x2x4x4x4xf32>
// CHECK-NEXT:    %[[IN:.*]] = graph.relu %[[C1]] : tensor<1x2x4x4x4xf32>
// CHECK-NEXT:    %[[W2:.*]] = graph.weight "blocked_weight_{{[0-9]+}}" : tensor<2x2x1x1x4x4xf32>
// CHECK-NEXT:    %[[C2:.*]] = graph.conv_nchwc %[[IN]], %[[W2]]
// CHECK-NEXT:    %[[OUT:.*]] = graph.layout_transform %[[C2]] {src_layout = "NCHW4c", dst_layout = "NCHW"}
// CHECK-NEXT:    %[[W3:.*]] = graph.weight "blocked_weight_{{[0-9]+}}" : tensor<2x2x1x1x4x4xf32>
// CHECK-NEXT:    %[[C3:.*]] = graph.conv_nchwc %[[IN]], %[[W3]]
// CHECK-NEXT:    %[[CAT:.*]] = graph.concat %[[C2]], %[[C3]] {axis = 1 : i64} : (tensor<1x2x4x4x4xf32>, tensor<1x2x4x4x4xf32>) -> tensor<1x4x4x4x4xf32>
// CHECK-NEXT:    %[[SL:.*]] = graph.slice %[[CAT]] {starts = array<i64: 0, 1, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1, 1>} : tensor<1x4x4x4x4xf32> -> tensor<1x2x4x4x4xf32>
// CHECK-NEXT:    %[[E:.*]] = graph.sigmoid %[[SL]] : tensor<1x2x4x4x4xf32>
// CHECK-NEXT:    %[[EOUT:.*]] = graph.layout_transform %[[E]] {src_layout = "NCHW4c", dst_layout = "NCHW"}
// CHECK-NEXT:    %[[SM:.*]] = graph.softmax %[[OUT]] {axis = 1 : i64} : tensor<1x8x4x4xf32>
// CHECK-NEXT:    func.return %[[EOUT]], %[[SM]]
func.func @borders(%x: tensor<1x3x4x4xf32>) -> (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>) {
  %w1 = graph.constant dense<0.5> : tensor<8x3x1x1xf32>
  %b = graph.constant dense<0.0> : tensor<8xf32>
  %c1 = graph.conv %x, %w1, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x4x4xf32>, tensor<8x3x1x1xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  %r = graph.relu %c1 : tensor<1x8x4x4xf32>
  %w2 = graph.constant dense<0.25> : tensor<8x8x1x1xf32>
  %c2 = graph.conv %r, %w2, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x8x4x4xf32>, tensor<8x8x1x1xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  %c3 = graph.conv %r, %w2, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x8x4x4xf32>, tensor<8x8x1x1xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  %cat = graph.concat %c2, %c3 {axis = 1 : i64} : (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>) -> tensor<1x16x4x4xf32>
  %sl = graph.slice %cat {starts = array<i64: 0, 4, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x16x4x4xf32> -> tensor<1x8x4x4xf32>
  %e = graph.sigmoid %sl : tensor<1x8x4x4xf32>
  %sm = graph.softmax %c2 {axis = 1 : i64} : tensor<1x8x4x4xf32>
  func.return %e, %sm : tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>
}

// -----

// Without the option, the block is the f32 lanes of the module's target: 8 for AVX2.
// TARGET-LABEL: func.func @avx2
// TARGET-NEXT:    %[[X:.*]] = graph.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW8c"} : tensor<1x16x2x2xf32> -> tensor<1x2x2x2x8xf32>
// TARGET:         graph.conv_nchwc %[[X]], %{{.*}}, %{{.*}} {{.*}} : (tensor<1x2x2x2x8xf32>, tensor<2x2x1x1x8x8xf32>, tensor<16xf32>) -> tensor<1x2x2x2x8xf32>
// TARGET-NEXT:    graph.layout_transform %{{.*}} {src_layout = "NCHW8c", dst_layout = "NCHW"}
builtin.module attributes {target.cpu = #target.cpu<"x86_64-unknown-linux-gnu", "haswell", "+avx2", 256, 2>} {
  func.func @avx2(%x: tensor<1x16x2x2xf32>) -> tensor<1x16x2x2xf32> {
    %w = graph.constant dense<0.5> : tensor<16x16x1x1xf32>
    %b = graph.constant dense<0.0> : tensor<16xf32>
    %c = graph.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x16x2x2xf32>, tensor<16x16x1x1xf32>, tensor<16xf32>) -> tensor<1x16x2x2xf32>
    func.return %c : tensor<1x16x2x2xf32>
  }
}

// -----

// A weight known only at run time cannot be blocked ahead of time: the conv stays.
// CHECK-LABEL: func.func @runtime_weight
// CHECK-NOT:     graph.layout_transform
// CHECK:         graph.conv %x, %w, %b
func.func @runtime_weight(%x: tensor<1x4x2x2xf32>, %w: tensor<4x4x1x1xf32>) -> tensor<1x4x2x2xf32> {
  %b = graph.constant dense<0.0> : tensor<4xf32>
  %c = graph.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x2x2xf32>, tensor<4x4x1x1xf32>, tensor<4xf32>) -> tensor<1x4x2x2xf32>
  func.return %c : tensor<1x4x2x2xf32>
}

// -----

// A padded RGB stem reads its input laid out as NCHW1c and padded once beforehand, and runs
// unpadded: with one channel per block, a bounds check per read would cost more than the
// multiply-add it guards. graph-fuse-ops makes the transform and the pad one kernel.
// CHECK-LABEL: func.func @padded_stem
// CHECK-NEXT:    %[[X1:.*]] = graph.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW1c"} : tensor<1x3x6x6xf32> -> tensor<1x3x6x6x1xf32>
// CHECK-NEXT:    %[[P:.*]] = graph.pad %[[X1]] {pads = array<i64: 0, 0, 1, 1, 0, 0, 0, 1, 1, 0>, mode = "constant", value = 0.000000e+00 : f32} : tensor<1x3x6x6x1xf32> -> tensor<1x3x8x8x1xf32>
// CHECK:         graph.conv_nchwc %[[P]], {{.*}} pads = array<i64: 0, 0, 0, 0>
// FUSED-LABEL: func.func @padded_stem
// FUSED:         graph.fused %x {kind = "layout_transform_pad"}
func.func @padded_stem(%x: tensor<1x3x6x6xf32>) -> tensor<1x4x3x3xf32> {
  %w = graph.constant dense<0.5> : tensor<4x3x3x3xf32>
  %b = graph.constant dense<0.0> : tensor<4xf32>
  %0 = graph.conv %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x6x6xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x3x3xf32>
  func.return %0 : tensor<1x4x3x3xf32>
}

// -----

// Six channels fill no block of 4 but blocks of 2: the narrow tensor stays blocked in
// NCHW2c between the convolution that makes it (weight OIHW4i2o) and the one that reads
// it (OIHW2i4o), with no transform in between.
// CHECK-LABEL: func.func @narrow
// CHECK:         %[[A:.*]] = graph.conv_nchwc {{.*}} : (tensor<1x2x4x4x4xf32>, tensor<3x2x1x1x4x2xf32>, tensor<6xf32>) -> tensor<1x3x4x4x2xf32>
// CHECK-NOT:     graph.layout_transform
// CHECK:         graph.conv_nchwc %[[A]], {{.*}} : (tensor<1x3x4x4x2xf32>, tensor<2x3x1x1x2x4xf32>, tensor<8xf32>) -> tensor<1x2x4x4x4xf32>
func.func @narrow(%x: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
  %w1 = graph.constant dense<0.5> : tensor<6x8x1x1xf32>
  %b1 = graph.constant dense<0.0> : tensor<6xf32>
  %w2 = graph.constant dense<0.25> : tensor<8x6x1x1xf32>
  %b2 = graph.constant dense<0.0> : tensor<8xf32>
  %0 = graph.conv %x, %w1, %b1 {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x8x4x4xf32>, tensor<6x8x1x1xf32>, tensor<6xf32>) -> tensor<1x6x4x4xf32>
  %1 = graph.conv %0, %w2, %b2 {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x6x4x4xf32>, tensor<8x6x1x1xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  func.return %1 : tensor<1x8x4x4xf32>
}

// -----

// Packed int8 convolutions (graph-fuse-qdq's) run blocked too. The RGB-like stem's three
// channels fit no block of four bytes: its packed words are read in blocks of one word,
// padded with the pad byte (3: the word 0x03030303, an f64 value since an f32 would round
// it). Its requantization
// (cast, per-channel scale, round, cast) stays blocked, the u8 result is packed along its
// block (eight channels in NCHW4c: two blocks of one word each), padded, and read by the
// second convolution with no transform between; the NCHW packs go.
// CHECK-LABEL: func.func @int8_chain
// CHECK:         %[[P:.*]] = graph.pack_u8x4 %x {axis = 1 : i64} : (tensor<1x3x6x6xui8>) -> tensor<1x1x6x6xi32>
// CHECK:         %[[U:.*]] = graph.layout_transform %[[P]] {src_layout = "NCHW", dst_layout = "NCHW1c"} : tensor<1x1x6x6xi32> -> tensor<1x1x6x6x1xi32>
// CHECK-NEXT:    %[[UP:.*]] = graph.pad %[[U]] {pads = array<i64: 0, 0, 1, 1, 0, 0, 0, 1, 1, 0>, mode = "constant", value = 0x4188181818000000 : f64} : tensor<1x1x6x6x1xi32> -> tensor<1x1x8x8x1xi32>
// CHECK:         %[[C1:.*]] = graph.conv_u8s8_nchwc %[[UP]], {{.*}} pads = array<i64: 0, 0, 0, 0>{{.*}} : (tensor<1x1x8x8x1xi32>, tensor<2x1x3x3x1x4xi32>, tensor<8xi32>) -> tensor<1x2x6x6x4xi32>
// CHECK-NEXT:    %[[F:.*]] = graph.cast %[[C1]] : tensor<1x2x6x6x4xi32> -> tensor<1x2x6x6x4xf32>
// CHECK-NEXT:    %[[S:.*]] = graph.mul %[[F]], %{{.*}} : (tensor<1x2x6x6x4xf32>, tensor<1x2x1x1x4xf32>) -> tensor<1x2x6x6x4xf32>
// CHECK-NEXT:    %[[R:.*]] = graph.round %[[S]]
// CHECK-NEXT:    %[[Q:.*]] = graph.cast %[[R]] : tensor<1x2x6x6x4xf32> -> tensor<1x2x6x6x4xui8>
// CHECK-NEXT:    %[[W:.*]] = graph.pack_u8x4 %[[Q]] {axis = 4 : i64} : (tensor<1x2x6x6x4xui8>) -> tensor<1x2x6x6x1xi32>
// CHECK-NEXT:    %[[WP:.*]] = graph.pad %[[W]]
// CHECK:         %[[C2:.*]] = graph.conv_u8s8_nchwc %[[WP]], {{.*}} : (tensor<1x2x8x8x1xi32>, tensor<2x2x3x3x1x4xi32>, tensor<8xi32>) -> tensor<1x2x6x6x4xi32>
// CHECK-NOT:     graph.pack_u8x4
// CHECK:         graph.layout_transform {{.*}} {src_layout = "NCHW4c", dst_layout = "NCHW"}
// CHECK-NEXT:    func.return
func.func @int8_chain(%x: tensor<1x3x6x6xui8>) -> tensor<1x8x6x6xi32> {
  %w1 = graph.constant dense<16843009> : tensor<8x1x3x3xi32>
  %b1 = graph.constant dense<-7> : tensor<8xi32>
  %s = graph.constant dense<[[[0.5]], [[0.25]], [[0.5]], [[0.25]], [[0.5]], [[0.25]], [[0.5]], [[0.25]]]> : tensor<8x1x1xf32>
  %w2 = graph.constant dense<33686018> : tensor<8x2x3x3xi32>
  %b2 = graph.constant dense<5> : tensor<8xi32>
  %p1 = graph.pack_u8x4 %x {axis = 1 : i64} : (tensor<1x3x6x6xui8>) -> tensor<1x1x6x6xi32>
  %c1 = graph.conv_u8s8 %p1, %w1, %b1 {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, pad_byte = 3 : i64} : (tensor<1x1x6x6xi32>, tensor<8x1x3x3xi32>, tensor<8xi32>) -> tensor<1x8x6x6xi32>
  %f = graph.cast %c1 : tensor<1x8x6x6xi32> -> tensor<1x8x6x6xf32>
  %m = graph.mul %f, %s : (tensor<1x8x6x6xf32>, tensor<8x1x1xf32>) -> tensor<1x8x6x6xf32>
  %r = graph.round %m : tensor<1x8x6x6xf32>
  %q = graph.cast %r : tensor<1x8x6x6xf32> -> tensor<1x8x6x6xui8>
  %p2 = graph.pack_u8x4 %q {axis = 1 : i64} : (tensor<1x8x6x6xui8>) -> tensor<1x2x6x6xi32>
  %c2 = graph.conv_u8s8 %p2, %w2, %b2 {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, pad_byte = 0 : i64} : (tensor<1x2x6x6xi32>, tensor<8x2x3x3xi32>, tensor<8xi32>) -> tensor<1x8x6x6xi32>
  func.return %c2 : tensor<1x8x6x6xi32>
}

// -----

// bf16 pair convolutions (graph-pack-bf16's) run blocked the same way, two values a word:
// four channels in NCHW4c are two words a block, padded with 0 beforehand; the relu between
// them stays blocked.
// CHECK-LABEL: func.func @bf16_chain
// CHECK:         %[[X:.*]] = graph.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW4c"} : tensor<1x4x5x5xf32> -> tensor<1x1x5x5x4xf32>
// CHECK:         %[[P:.*]] = graph.pack_bf16x2 %[[X]] {axis = 4 : i64} : (tensor<1x1x5x5x4xf32>) -> tensor<1x1x5x5x2xi32>
// CHECK-NEXT:    %[[PP:.*]] = graph.pad %[[P]] {{.*}} value = 0.000000e+00 : f32} : tensor<1x1x5x5x2xi32> -> tensor<1x1x7x7x2xi32>
// CHECK:         %[[C1:.*]] = graph.conv_bf16_nchwc %[[PP]], {{.*}} : (tensor<1x1x7x7x2xi32>, tensor<2x1x3x3x2x4xi32>, tensor<8xf32>) -> tensor<1x2x5x5x4xf32>
// CHECK-NEXT:    %[[R:.*]] = graph.relu %[[C1]] : tensor<1x2x5x5x4xf32>
// CHECK-NEXT:    graph.pack_bf16x2 %[[R]] {axis = 4 : i64} : (tensor<1x2x5x5x4xf32>) -> tensor<1x2x5x5x2xi32>
// CHECK:         graph.conv_bf16_nchwc {{.*}} -> tensor<1x2x5x5x4xf32>
// CHECK-NOT:     graph.pack_bf16x2
// CHECK:         graph.layout_transform {{.*}} {src_layout = "NCHW4c", dst_layout = "NCHW"}
func.func @bf16_chain(%x: tensor<1x4x5x5xf32>) -> tensor<1x8x5x5xf32> {
  %w1 = graph.constant dense<1065369472> : tensor<8x2x3x3xi32>
  %b1 = graph.constant dense<0.5> : tensor<8xf32>
  %w2 = graph.constant dense<1056980736> : tensor<8x4x3x3xi32>
  %b2 = graph.constant dense<0.25> : tensor<8xf32>
  %p1 = graph.pack_bf16x2 %x {axis = 1 : i64} : (tensor<1x4x5x5xf32>) -> tensor<1x2x5x5xi32>
  %c1 = graph.conv_bf16 %p1, %w1, %b1 {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x5x5xi32>, tensor<8x2x3x3xi32>, tensor<8xf32>) -> tensor<1x8x5x5xf32>
  %r = graph.relu %c1 : tensor<1x8x5x5xf32>
  %p2 = graph.pack_bf16x2 %r {axis = 1 : i64} : (tensor<1x8x5x5xf32>) -> tensor<1x4x5x5xi32>
  %c2 = graph.conv_bf16 %p2, %w2, %b2 {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x5x5xi32>, tensor<8x4x3x3xi32>, tensor<8xf32>) -> tensor<1x8x5x5xf32>
  func.return %c2 : tensor<1x8x5x5xf32>
}
