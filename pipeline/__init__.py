"""DVC stage entry points: each module parses paths from argv, loads its typed params section, calls the library and writes outputs atomically."""
