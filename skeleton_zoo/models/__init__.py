"""Model families, one folder each: layers, model, official-weight key rules
and presets (data), plus one registration in the folder's `__init__`.

Built in: `gast` (GAST-Net, pose lifting) and `sttr` (ST-TR and ST-GCN,
action recognition). `common` holds what every family shares. Plug-in
families register the same way from their own packages (see
`skeleton_zoo.registry`).
"""
