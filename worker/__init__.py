"""Background work: loops that call domain functions on a clock, holding no rules of their own."""
