from feeder.cli import main

# Guarded: the parse worker processes ("spawn") import this module again as __mp_main__.
if __name__ == "__main__":
    raise SystemExit(main())
