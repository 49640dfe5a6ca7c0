enum DeskpoolServerPlaceholder {}
