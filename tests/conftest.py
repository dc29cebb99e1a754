"""Settings every tier shares.

Hypothesis measures time: on a shared 2-core machine (and in CI, with two test processes) a
slow example is the machine, not the code. No deadline, no "too slow" health check; what each
test asserts is unchanged.
"""

from hypothesis import HealthCheck, settings

settings.register_profile("shared-machine", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("shared-machine")
