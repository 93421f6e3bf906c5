"""Method maths in plain torch: class-prompt text features, the MoPD teacher bank, gate and losses; the linear probe."""
