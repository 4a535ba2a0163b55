// RUN: ziggurat-opt %s --split-input-file --verify-expected-diagnostics

func.func @float_pack(%x: tensor<1x4xf32>) -> tensor<1x1xi32> {
  // expected-error@+1 {{packs ui8 or i8 tensors only.}}
  %0 = graph.pack_u8x4 %x {axis = 1 : i64} : (tensor<1x4xf32>) -> tensor<1x1xi32>
  func.return %0 : tensor<1x1xi32>
}

// -----

func.func @bad_pad_byte(%x: tensor<1x1x4x4xi32>, %w: tensor<2x1x1x1xi32>, %b: tensor<2xi32>) -> tensor<1x2x4x4xi32> {
  // expected-error@+1 {{needs one group and a pad byte in [0, 255].}}
  %0 = graph.conv_u8s8 %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64, pad_byte = 300 : i64} : (tensor<1x1x4x4xi32>, tensor<2x1x1x1xi32>, tensor<2xi32>) -> tensor<1x2x4x4xi32>
  func.return %0 : tensor<1x2x4x4xi32>
}

// -----

func.func @bad_cast(%v: vector<16xi32>) -> vector<16xf32> {
  // expected-error@+1 {{kind must be one of}}
  %0 = int8.vector_cast %v {kind = "bitcast"} : vector<16xi32> to vector<16xf32>
  func.return %0 : vector<16xf32>
}
