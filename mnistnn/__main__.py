"""`python -m mnistnn` is the `mnistnn` command."""
from mnistnn.cli import main

if __name__ == "__main__":
    main(prog_name="mnistnn")
