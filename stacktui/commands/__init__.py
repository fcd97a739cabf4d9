"""One module per CLI command; each has register(subparsers) and sets args.run(ctx, args) -> exit code."""
