enum DeskpoolClientPlaceholder {}
