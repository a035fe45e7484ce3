"""FHIR R4 ⇄ clinguide: validate resources (fhir.resources R4B) and map them to Case and Order."""

from clinguide.fhir.mapping import MappedMedication, PatientData, build_patient, medication_request_to_order
from clinguide.fhir.resources import FhirInputError, iter_resources, validate

__all__ = [
    "FhirInputError",
    "MappedMedication",
    "PatientData",
    "build_patient",
    "iter_resources",
    "medication_request_to_order",
    "validate",
]
