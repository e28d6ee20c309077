"""Key hygiene and zero-downtime rotation of Azure OpenAI / AI Services account keys.

Pure core (no I/O): ``slots`` (key1/key2), ``tags`` (the Key Vault dual-credential tags),
``events`` (typed Key Vault Event Grid events), ``activity`` (AzureActivity key-operation rows),
``scan`` (key-hygiene findings), ``rotation`` (plans, instance ids, Durable payloads),
``orchestration`` (the deterministic orchestrator bodies). I/O: ``service`` over the ports in
``shared.azure`` (built by ``shared.bootstrap``). Settings: ``config``; policy: ``policy``.

This package imports nothing at package level, so ``shared.azure`` adapters can use its types
without import cycles.
"""
