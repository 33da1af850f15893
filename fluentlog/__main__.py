"""`python -m fluentlog` runs the same CLI as the console script."""

from fluentlog.cli import main

main()
