"""Value types shared below the model, the loaders and the engine: address, port and FQDN-pattern sets."""
