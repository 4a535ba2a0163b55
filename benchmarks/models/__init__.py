"""Model builders for benchmarks and tests: ONNX graphs made with onnx.helper and fixed-seed
random weights, the way exporters write them."""
