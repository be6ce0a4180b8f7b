"""`python -m skeleton_zoo.lift`, as `python -m skeleton_zoo lift` (`skeleton_zoo.cli.lift`)."""
if __name__ == "__main__":
    __import__("skeleton_zoo.cli").cli.exit_with("lift")
