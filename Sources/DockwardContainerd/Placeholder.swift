enum ContainerdPlaceholder {}
