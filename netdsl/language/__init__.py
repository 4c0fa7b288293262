"""The netdsl language: syntax tree, parser, module loader and elaborator."""
