"""Every source behind one contract: how its files are read, validated and pseudonymised into
prepared parts that hold no clear value and need no database (the load takes them from there)."""
