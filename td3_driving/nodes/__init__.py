"""Node executables. Each module has a Node subclass and a ``main()``."""
