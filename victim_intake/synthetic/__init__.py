"""Synthetic data for demos, tests and benchmarks: invented persons reported by the sources."""

from victim_intake.synthetic.demo import DemoSummary, write_demo_inbox

__all__ = ["DemoSummary", "write_demo_inbox"]
