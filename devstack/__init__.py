"""The developer's stack: everything that runs the product on one machine, and nothing Lambda needs.

``stack.py`` starts it (``python -m devstack.stack``, what ``make run`` runs): DynamoDB Local and a
moto server (``services.py``), the demo data (``seed.py``), Chalice's local gateway made to answer
like API Gateway (``gateway.py``) and the payment channels' simulator (``simulator.py``, serving
``channel_servers.py`` and one ``sim_*.py`` per channel). ``builders/`` makes the channels'
messages as the channels make them, for the simulator and the tests.

This package sits beside ``chalicelib``, not inside it, so ``chalice package`` never puts it in the
deployment zip; production code never imports it (``tests/unit/test_dev_code_stays_out.py``).
"""
