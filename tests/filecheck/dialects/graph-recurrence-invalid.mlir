// RUN: ziggurat-opt %s --split-input-file --verify-expected-diagnostics

func.func @bad_block(%gates: tensor<3x8xf32>, %rp: tensor<1x2x2x4xf32>, %z: tensor<1x2xf32>, %p: tensor<1x6xf32>, %s: tensor<1x1x2xf32>, %lens: tensor<1xi32>) -> tensor<5x1x1x2xf32> {
  // expected-error@+1 {{packs R in blocks of 8 columns.}}
  %r = graph.recurrence %gates, %rp, %z, %p, %s, %s, %lens {cell = "lstm", direction = "forward", activations = ["Sigmoid", "Tanh", "Tanh"], alphas = array<f32: 0.0, 0.0, 0.0>, betas = array<f32: 0.0, 0.0, 0.0>} : (tensor<3x8xf32>, tensor<1x2x2x4xf32>, tensor<1x2xf32>, tensor<1x6xf32>, tensor<1x1x2xf32>, tensor<1x1x2xf32>, tensor<1xi32>) -> tensor<5x1x1x2xf32>
  func.return %r : tensor<5x1x1x2xf32>
}

// -----

func.func @bad_activation(%gates: tensor<3x2xf32>, %rp: tensor<1x1x2x2xf32>, %z: tensor<1x2xf32>, %p: tensor<1x6xf32>, %s: tensor<1x1x2xf32>, %lens: tensor<1xi32>) -> tensor<5x1x1x2xf32> {
  // expected-error@+1 {{activations must be among}}
  %r = graph.recurrence %gates, %rp, %z, %p, %s, %s, %lens {cell = "rnn", direction = "forward", activations = ["Swish"], alphas = array<f32: 0.0>, betas = array<f32: 0.0>} : (tensor<3x2xf32>, tensor<1x1x2x2xf32>, tensor<1x2xf32>, tensor<1x6xf32>, tensor<1x1x2xf32>, tensor<1x1x2xf32>, tensor<1xi32>) -> tensor<5x1x1x2xf32>
  func.return %r : tensor<5x1x1x2xf32>
}

// -----

func.func @bad_initial_h_width(%gates: tensor<3x2xf32>, %rp: tensor<1x1x2x2xf32>, %z: tensor<1x2xf32>, %p: tensor<1x6xf32>, %s: tensor<1x1x2xf32>, %h: tensor<1x1x3xf32>, %lens: tensor<1xi32>) -> tensor<5x1x1x3xf32> {
  // expected-error@+1 {{initial_h has shape [1, 1, 3], expected [1, 1, 2].}}
  %r = graph.recurrence %gates, %rp, %z, %p, %h, %s, %lens {cell = "rnn", direction = "forward", activations = ["Tanh"], alphas = array<f32: 0.0>, betas = array<f32: 0.0>} : (tensor<3x2xf32>, tensor<1x1x2x2xf32>, tensor<1x2xf32>, tensor<1x6xf32>, tensor<1x1x3xf32>, tensor<1x1x2xf32>, tensor<1xi32>) -> tensor<5x1x1x3xf32>
  func.return %r : tensor<5x1x1x3xf32>
}
