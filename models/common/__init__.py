"""Machinery shared by every model in ``models/``: atomic files and manifests (:mod:`.io`), progress
bars (:mod:`.progress`) and command-line error handling (:mod:`.cli`).

Each model lives in ``models/<name>/{data.py, model.py, train.py, README.md}`` and imports only public
``lie_nn`` names plus this package.
"""
