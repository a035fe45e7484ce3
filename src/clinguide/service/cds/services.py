"""The CDS services clinguide offers (discovery) and what each needs from the EHR."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
    "conditions": "Condition?patient={{context.patientId}}&clinical-status=active",
    "allergies": "AllergyIntolerance?patient={{context.patientId}}&clinical-status=active",
    "procedures": "Procedure?patient={{context.patientId}}&_sort=-date&_count=20",
}

# prefetch key -> resourceType it carries
KEY_TYPES: dict[str, str] = {
    "patient": "Patient",
    "medications": "MedicationRequest",
    "conditions": "Condition",
    "allergies": "AllergyIntolerance",
    "procedures": "Procedure",
}
REQUIRED_TYPES = ("Patient", "MedicationRequest")



@dataclass(frozen=True)
class Service:
    id: str
    hook: str
    title: str
    description: str
    context_fields: tuple[str, ...]

    def discovery(self) -> dict[str, Any]:
        return {
            "hook": self.hook,
            "title": self.title,
            "description": self.description,
            "id": self.id,
            "prefetch": PREFETCH,
            "usageRequirements": (
                "Works from prefetch; without it, clinguide reads the FHIR server named in the request "
                "(with fhirAuthorization when given). Data it cannot obtain are named on an info card."
            ),
        }


SERVICES: dict[str, Service] = {
    s.id: s
    for s in (
        Service(
            id="clinguide-order-select",
            hook="order-select",
            title="clinguide: benzodiazepine and muscle-relaxant order check",
            description=(
                "Checks a selected diazepam, other benzodiazepine or skeletal-muscle-relaxant order (dose, "
                "duration, older adults, conditions, allergies, opioid and other CNS-depressant co-prescription), "
                "and an opioid order against an active benzodiazepine or muscle relaxant."
            ),
            context_fields=("patientId", "selections", "draftOrders"),
        ),
        Service(
            id="clinguide-order-sign",
            hook="order-sign",
            title="clinguide: benzodiazepine and muscle-relaxant order check at signing",
            description=(
                "The same checks as clinguide-order-select on the orders about to be signed, with suggestions "
                "that update or replace a draft order where a safer order exists."
            ),
            context_fields=("patientId", "draftOrders"),
        ),
        Service(
            id="clinguide-patient-view",
            hook="patient-view",
            title="clinguide: active diazepam and muscle-relaxant prescriptions",
            description=(
                "Flags an active diazepam, benzodiazepine or muscle-relaxant prescription that breaks the "
                "guidance (too long, opioid co-prescription, older adult, contraindicated condition …)."
            ),
            context_fields=("patientId",),
        ),
    )
}


def discovery() -> dict[str, Any]:
    return {"services": [s.discovery() for s in SERVICES.values()]}
