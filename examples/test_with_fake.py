"""How to test code that uses summarize, without a model or network (run with pytest)."""

from summarize.testing import FakeLLM, HTTPFailure

ARTICLE = "Kyiv rejected the offer. Officials said talks could be held in Geneva."


def test_my_pipeline_handles_a_flaky_provider() -> None:
    reply = {
        "summary": "Kyiv rejected an offer; Geneva was floated for talks.",
        "venues": [
            {
                "place": "Geneva",
                "proposed_by": "officials",
                "status": "proposed",
                "meeting": "talks",
                "evidence": [{"quote": "talks could be held in Geneva", "attribution": "indirect"}],
            }
        ],
    }
    fake = FakeLLM(HTTPFailure(503), reply)
    summary = fake.summarizer().summarize(ARTICLE)
    assert summary.venues[0].place == "Geneva"
    assert summary.meta.attempts == 2 and fake.calls == 2
