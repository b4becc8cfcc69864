"""The evaluation cache is keyed on exactly what the evaluation reads (issue 16): a review
step (status, version) reuses the evaluation; an edit of the site or name does not."""
import pytest

from layers import proposals as P
from layers.workflow import transition
from web.services import project_eval
from web.services.users import User


@pytest.mark.slow
def test_review_step_reuses_the_evaluation_and_an_edit_does_not(demo_copy):
    P.load_demo_proposals(demo_copy)
    draft = next(p for p in sorted(P.list_proposals(demo_copy), key=lambda p: p.id) if p.status == "draft")

    renamed = P.update_proposal(demo_copy, draft.id, {"name": draft.name + "（二期）"},
                                expected_version=draft.version)
    before = project_eval.evaluate(demo_copy, draft.id)
    assert before["proposal"]["name"] == renamed.name
    assert before["proposal"]["version"] == renamed.version

    applicant = User("村委会", "village_applicant", "village", renamed.village_code)
    submitted = transition(demo_copy, renamed.id, "submit", actor=applicant, expected_version=renamed.version)
    assert submitted.version != renamed.version and submitted.status != renamed.status
    after = project_eval.evaluate(demo_copy, submitted)
    assert after["cache_key"] == before["cache_key"]  # status and version are not inputs
    assert after["proposal"]["version"] == submitted.version  # ... but the version shown is the current one
    fresh = project_eval.evaluate(demo_copy, submitted, use_cache=False)
    assert fresh["cache_key"] == after["cache_key"]
    assert project_eval.snapshot(fresh) == project_eval.snapshot(after)

    # an input the evaluation reads (here the name) gives another key
    other = P.update_proposal(demo_copy, draft.id, {"name": draft.name}, expected_version=submitted.version,
                              editable_statuses=("draft", "returned", submitted.status))
    again = project_eval.evaluate(demo_copy, other)
    assert again["cache_key"] != after["cache_key"]
    assert again["proposal"]["name"] == draft.name
