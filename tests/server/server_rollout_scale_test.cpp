// Rollouts with a few hundred devices, rate-limited and maintenance-window rollouts (being written).
