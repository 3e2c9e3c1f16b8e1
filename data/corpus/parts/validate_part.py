"""Validate one part file of the team-written corpus (helpers run this on their own part)."""
import json
import sys

EXCL = ["not_peer_support", "not_mental_health", "substance_use", "youth_only",
        "online_or_phone_only", "same_profession", "caregivers", "criminal_justice",
        "bereavement", "women_only", "program_evaluation", "operations_or_instrument",
        "predictor_only", "not_original", "out_of_window"]
CATS = ["peer_employees", "peer_run", "mutual_help", "none"]
OUTS = ["quality_of_life", "symptoms", "hospitalization", "service_use_costs",
        "engagement_access", "satisfaction", "relationship", "social_support",
        "community_functioning", "empowerment", "recovery_hope", "self_esteem_efficacy",
        "coping", "employment_education", "provider_benefits"]
KEYS = {"record_id", "title", "abstract", "year", "language", "journal", "keywords",
        "included", "exclusion_reason", "category", "outcomes", "source_note"}

def main(path):
    ids, titles = set(), set()
    from collections import Counter
    inc, cat, exc, out = Counter(), Counter(), Counter(), Counter()
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        r = json.loads(line)
        extra = set(r) - KEYS
        assert not extra, f"line {n}: unknown keys {extra}"
        for k in ("record_id", "title", "included", "category", "outcomes", "year"):
            assert k in r, f"line {n}: missing {k}"
        assert r["record_id"] not in ids, f"line {n}: duplicate id"
        ids.add(r["record_id"])
        t = r["title"].strip().lower()
        assert t not in titles, f"line {n}: duplicate title"
        titles.add(t)
        assert r["included"] in (0, 1), f"line {n}: included must be 0/1"
        if r["included"] == 1:
            assert r.get("exclusion_reason") is None, f"line {n}: included with a reason"
            assert r["category"] != "none", f"line {n}: included but category none"
        else:
            assert r.get("exclusion_reason") in EXCL, f"line {n}: bad exclusion_reason"
        assert r["category"] in CATS, f"line {n}: bad category"
        assert all(o in OUTS for o in r["outcomes"]), f"line {n}: bad outcome"
        assert isinstance(r["year"], int), f"line {n}: year must be int"
        inc[r["included"]] += 1; cat[r["category"]] += 1
        exc[r.get("exclusion_reason")] += 1; out.update(r["outcomes"])
    print(path, "records:", len(ids), "included:", dict(inc))
    print("categories:", dict(cat)); print("exclusions:", dict(exc)); print("outcomes:", dict(out))

if __name__ == "__main__":
    main(sys.argv[1])
