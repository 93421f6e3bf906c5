"""The ground floor: file safety shared by every other package, which imports nothing of this repository.

- `atomic`: atomic writes (temporary file, then rename), exclusive file locks, files created once.
- `io`: JSON reading (a damaged file named) and atomic JSON/bytes writes, file digests.
- `typed_json`: dataclasses from JSON with every key and type checked.
- `download`: checksummed HTTP downloads that resume.
- `torch_files`: what `torch.load` raises for a damaged or foreign file.
- `repository`: where the checkout is, and the default output root.
"""
