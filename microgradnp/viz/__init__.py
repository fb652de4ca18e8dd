"""What only reads the graph: pictures (`graph`) and the step-by-step backward page (`backprop`).

Every read of the engine's graph goes through `access`, so a change in the core touches one file.
"""
