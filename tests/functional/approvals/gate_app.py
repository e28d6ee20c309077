"""A Function app with the approvals blueprint and a parent that calls the gate as the incident
orchestrator does (``call_sub_orchestrator("approval_gate", request, instance_id=...)``)."""

from typing import Any

import azure.durable_functions as df
import azure.functions as func

from handlers.approvals import bp

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(bp)


@app.orchestration_trigger(context_name="context")
def parent_incident(context: df.DurableOrchestrationContext) -> Any:
    request = context.get_input()
    gate_id = f"{request['incident_id']}:approval:{request['step']['id']}"
    context.set_custom_status({"stage": "awaiting_approval", "pending_approvals": [gate_id]})
    result = yield context.call_sub_orchestrator("approval_gate", request, instance_id=gate_id)
    context.set_custom_status({"stage": "done", "approved": result["approved"]})
    return result
