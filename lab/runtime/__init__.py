"""Which kernel runs the lab: this machine's own (when it has IPVS), or a Debian microVM."""
