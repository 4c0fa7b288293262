"""Lowering of the graph IR to PyTorch: modules (`module.build`), Python source
(`codegen.generate_source`) and ONNX (`onnx_export.export_onnx`).

Importing this package does not import torch: layers describe their modules as
torch-free `recipe.Recipe`s, and only `ops`, `module` and `onnx_export` import torch.
"""
