"""`robolearn imitate`: the stage runner from human motion to a deployed tracking policy."""
