"""Lab drills: break a kept lab the way real clusters break, run the suites that should
notice, and show which test caught it with which fact; then restore the lab and show it healthy."""
