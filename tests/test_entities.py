"""Entity components on letter-like text written for these tests (no corpus text)."""
from __future__ import annotations

import pytest
import spacy
from spacy.tokens import Doc

from imr_nlp.components.doses import item_fields
from imr_nlp.components.entities import SPANS_KEY, add_entity_components

LETTER = """Case Number:           CM99-0000001
Date Assigned:         01/02/2017

                                 CLINICAL CASE SUMMARY
The injured worker is a 52 year old male who sustained an industrial injury on 3-4-15. Diagnoses
include left shoulder sprain, lumbar radiculopathy and degenerative disc disease (DDD) at L4-5.
An MRI of the cervical and lumbar spine showed no evidence of radiculopathy at C5-6. Treatment
to date has included physical therapy (PT), a TENS unit, home exercise program and Norco
10/325 mg #60. He is to rule out carpal tunnel syndrome of the right wrist. An x-
ray of the right shoulder was normal. The MTUS Chronic Pain Medical Treatment Guidelines and the
Official Disability Guidelines (ODG) were cited.

                       IMR ISSUES, DECISIONS AND RATIONALES
Iontophoresis using dexamethasone 8 mg QTY: 1.00: Upheld
Decision rationale: Iontophoresis with dexamethasone 8 mg twice a day is not recommended.
"""


@pytest.fixture(scope="module")
def nlp():
    nlp = spacy.blank("en")
    add_entity_components(nlp, None)
    return nlp


@pytest.fixture(scope="module")
def doc(nlp):
    if not Doc.has_extension("imr_items"):
        Doc.set_extension("imr_items", default=None)
    d = nlp.make_doc(LETTER)
    a = LETTER.index("Iontophoresis using")
    b = LETTER.index(": Upheld")
    d._.imr_items = [{"index": 0, "text": LETTER[a:b], "decision": "upheld", "text_start": a, "text_end": b}]
    for _name, proc in nlp.pipeline:
        d = proc(d)
    return d


def spans(doc, label):
    return [s for s in doc.spans["imr"] if s.label_ == label]


def texts(doc, label):
    return {" ".join(s.text.split()).lower() for s in spans(doc, label)}


def test_pipeline_order(nlp):
    assert nlp.pipe_names == ["imr_entities", "imr_abbreviations", "imr_doses", "imr_linking", "imr_assertion"]


def test_drug_and_dose_linked(doc):
    assert "dexamethasone" in texts(doc, "DRUG")
    assert "8 mg" in texts(doc, "DOSE")
    dose = next(s for s in spans(doc, "DOSE") if s.text == "8 mg")
    assert dose._.imr_drug.lower() == "dexamethasone"
    dex = next(s for s in spans(doc, "DRUG") if s.text.lower() == "dexamethasone")
    assert dex._.imr_norm == "dexamethasone" and dex._.imr_kb_id.startswith("DB")


def test_brand_drug_and_compound_strength(doc):
    assert "norco" in texts(doc, "DRUG")
    assert "10/325 mg" in texts(doc, "DOSE")  # across the line break
    norco = next(s for s in spans(doc, "DRUG") if s.text == "Norco")
    assert "hydrocodone" in norco._.imr_norm


def test_quantity_is_not_a_dose(doc):
    assert "#60" not in texts(doc, "DOSE") and "1.00" not in texts(doc, "DOSE")
    quantities = {s.text for s in doc.spans["imr_doses"] if s.label_ == "QUANTITY"}
    assert "#60" in quantities or "# 60" in quantities


def test_negated_condition(doc):
    radic = [s for s in spans(doc, "DIAGNOSIS") if s.text == "radiculopathy"]
    assert radic and radic[0]._.imr_assertion == "negated"
    lumbar = next(s for s in spans(doc, "DIAGNOSIS") if s.text == "lumbar radiculopathy")
    assert lumbar._.imr_assertion == "present"


def test_hypothetical_condition(doc):
    cts = [s for s in spans(doc, "DIAGNOSIS") if "carpal tunnel syndrome" in s.text]
    assert cts and cts[0]._.imr_assertion == "hypothetical"


def test_laterality_and_levels(doc):
    body = texts(doc, "BODY_PART")
    assert {"left shoulder", "right wrist", "right shoulder", "cervical and lumbar spine"} <= body
    assert {"l4-5", "c5-6"} <= body
    assert "left shoulder sprain" in texts(doc, "DIAGNOSIS")  # nested body part allowed


def test_severity_words_and_trailing_site_dropped():
    nlp = spacy.blank("en")
    add_entity_components(nlp, None)
    d = nlp("CLINICAL CASE SUMMARY\nDiagnoses: mild degenerative disc disease and a fracture of the right distal radius.")
    dx = texts(d, "DIAGNOSIS")
    assert "degenerative disc disease" in dx
    # ANNOTATION.md's worked example: "anterolisthesis of L2 on L3" gives "anterolisthesis"
    assert "fracture" in dx and "fracture of the right distal radius" not in dx
    assert "mild degenerative disc disease" not in dx
    assert "right distal radius" in texts(d, "BODY_PART")


def test_kind_of_condition_kept_chronicity_dropped():
    """Words that say what kind of condition it is ("blunt", "bacterial", "sensorineural") are part
    of the diagnosis; "chronic" and severity words are not (as the gold letters write them)."""
    nlp = spacy.blank("en")
    add_entity_components(nlp, None)
    d = nlp("CLINICAL CASE SUMMARY\nDiagnoses include blunt head trauma, chronic lumbar radiculopathy, "
            "moderate sensorineural hearing loss and a bacterial infection of the wound.")
    dx = texts(d, "DIAGNOSIS")
    assert {"blunt head trauma", "lumbar radiculopathy", "sensorineural hearing loss", "bacterial infection"} <= dx
    assert not any(t.startswith(("chronic", "moderate")) for t in dx)


def test_classification_specifiers_complete_the_diagnosis(nlp):
    """DSM-5 / ICD-10-CM subtypes and seizure types written after the name are part of it; a
    second condition after "with" is not."""
    d = _rule_doc(nlp, "Diagnoses include adjustment disorder with depressed mood, depressive "
                       "disorder not otherwise specified, migraine without aura and lumbar disc herniation with radiculopathy.")
    dx = texts(d, "DIAGNOSIS")
    assert {"adjustment disorder with depressed mood", "depressive disorder not otherwise specified",
            "migraine without aura", "lumbar disc herniation", "radiculopathy"} <= dx, dx
    assert not dx & {"adjustment disorder", "depressive disorder", "migraine"}, dx


def test_greater_and_lesser_name_a_site_but_common_does_not(nlp):
    d = _rule_doc(nlp, "There was tenderness over the right greater occipital nerve and the lesser "
                       "occipital nerve. Common knee injuries were discussed.")
    body = texts(d, "BODY_PART")
    assert {"right greater occipital nerve", "lesser occipital nerve", "knee"} <= body, body
    assert "common knee" not in body


def test_size_words_drop_and_a_cause_joined_by_a_hyphen_stays(nlp):
    d = _rule_doc(nlp, "Diagnoses: NSAID-induced gastritis, a small joint effusion, a small disc bulge, "
                       "left small finger sprain, femoroacetabular impingement and peptic ulcer disease.")
    dx = texts(d, "DIAGNOSIS")
    assert {"nsaid-induced gastritis", "joint effusion", "disc bulge", "left small finger sprain",
            "femoroacetabular impingement", "peptic ulcer disease"} <= dx, dx
    assert not dx & {"induced gastritis", "small joint effusion", "small disc bulge"}, dx
    body = texts(d, "BODY_PART")
    assert "left small finger" in body and not body & {"small joint", "small disc"}, body


def test_hand_and_other_sites_from_the_anatomy_lists(nlp):
    d = _rule_doc(nlp, "There was tenderness at the A1 pulley, the left radial styloid, the PIP joint, "
                       "the TFCC, the flexor tendon sheath and the epigastrium, with a compressed L5 root.")
    body = texts(d, "BODY_PART")
    assert {"a1 pulley", "left radial styloid", "pip joint", "tfcc", "flexor tendon sheath", "epigastrium",
            "l5 root"} <= body, body


def test_side_written_as_two_words():
    """"left sided" is a laterality like "left-sided" (PDF text often loses the hyphen)."""
    nlp = spacy.blank("en")
    add_entity_components(nlp, None)
    d = nlp("CLINICAL CASE SUMMARY\nShe reports left sided neck pain. Diagnoses: right sided sciatica.")
    assert "left sided neck" in texts(d, "BODY_PART")
    assert "right sided sciatica" in texts(d, "DIAGNOSIS")


def test_abbreviations_resolved_with_label(doc):
    pt = [s for s in spans(doc, "TREATMENT") if s.text == "PT"]
    assert pt and pt[0]._.imr_norm == "physical therapy"
    ddd = [s for s in spans(doc, "DIAGNOSIS") if s.text == "DDD"]
    assert ddd and ddd[0]._.imr_norm == "degenerative disc disease"
    tens = [s for s in spans(doc, "TREATMENT") if s.text.startswith("TENS")]
    assert tens


def test_line_end_hyphen_joined(doc):
    assert any(" ".join(s.text.split()).replace("- ", "-").lower() == "x-ray" for s in spans(doc, "TREATMENT"))


def test_guidelines(doc):
    g = texts(doc, "GUIDELINE")
    assert {"mtus", "odg", "official disability guidelines", "chronic pain medical treatment guidelines"} <= g
    # words of a guideline title are not tagged as anything else
    assert not any("chronic pain" in t for t in texts(doc, "DIAGNOSIS"))


def test_no_entities_in_header(doc):
    start = LETTER.index("CLINICAL CASE SUMMARY")
    assert all(s.start_char >= start for s in doc.spans["imr"])


def test_ents_do_not_overlap(doc):
    ents = list(doc.ents)
    assert ents
    for a, b in zip(ents, ents[1:]):
        assert a.end <= b.start


def test_item_fields(doc):
    item = doc._.imr_items[0]
    assert item["treatment"].lower() == "iontophoresis"
    assert [d.lower() for d in item["drugs"]] == ["dexamethasone"]
    assert item["dose"] == "8 mg"
    assert item["quantity"] == "1.00"  # ANNOTATION.md: the quantity as written, without "QTY:"
    assert item["body_parts"] == []


def test_item_fields_drug_request():
    nlp = spacy.blank("en")
    add_entity_components(nlp, None)
    text = "IMR ISSUES, DECISIONS AND RATIONALES\nGabapentin 600mg one by mouth twice a day #90: Upheld\n"
    d = nlp(text)
    fields = item_fields(d, {"text_start": text.index("Gabapentin"), "text_end": text.index(": Upheld")})
    assert fields["drugs"] == ["Gabapentin"] and fields["treatment"] is None
    assert fields["dose"] == "600mg" and fields["quantity"] == "#90"
    assert fields["frequency"] == "twice a day" and fields["route"] == "by mouth"


def test_icd_candidates_for_lumbar_radiculopathy(doc):
    span = next(s for s in spans(doc, "DIAGNOSIS") if s.text == "lumbar radiculopathy")
    codes = [c[0] for c in span._.imr_candidates]
    assert any(c.startswith("M54.1") or c.startswith("M51.1") for c in codes), span._.imr_candidates


def test_docbin_roundtrip(doc):
    from spacy.tokens import DocBin

    db = DocBin(store_user_data=True)
    db.add(doc)
    back = list(db.from_bytes(db.to_bytes()).get_docs(doc.vocab))[0]
    assert [(s.text, s.label_) for s in back.spans["imr"]] == [(s.text, s.label_) for s in doc.spans["imr"]]
    assert list(back._.abbreviations) == list(doc._.abbreviations)


def test_project_mentions_for_training():
    from imr_nlp.training import project_mentions

    nlp = spacy.blank("en")
    d = nlp.make_doc("Header\nCLINICAL CASE SUMMARY\nHe has a left shoulder sprain and an x-\nray of the left shoulder.")
    got = {(s.text.replace("\n", ""), s.label_) for s in project_mentions(
        d, {"DIAGNOSIS": ["left shoulder sprain"], "BODY_PART": ["left shoulder"], "TREATMENT": ["x-ray"]})}
    assert ("left shoulder sprain", "DIAGNOSIS") in got
    assert ("x-ray", "TREATMENT") in got
    assert ("left shoulder", "BODY_PART") in got  # the second, non-nested occurrence


def test_training_letters_also_given_double_spaced(tmp_path):
    """build_entity_docbins adds double-spaced copies of training letters (2013-14 PDFs come out
    that way) with the same gold mentions; the dev letters stay single."""
    from spacy.tokens import DocBin

    from conftest import EXAMPLE, ROOT
    from imr_nlp.training import build_entity_docbins

    gold = ROOT / "data" / "examples" / "example_gold.jsonl"
    train, dev = build_entity_docbins(gold, EXAMPLE.parent, tmp_path, ["CM99-0000001"],
                                      double_spaced_fraction=1.0)
    nlp = spacy.blank("en")
    docs = list(DocBin().from_disk(train).get_docs(nlp.vocab))
    assert len(docs) == 2
    single, double = docs
    assert "\n\n" in double.text and double.text.count("\n") > 1.5 * single.text.count("\n")
    mentions = [sorted((e.label_, " ".join(e.text.split())) for e in d.ents) for d in docs]
    assert mentions[0] == mentions[1] and mentions[0]


def _rule_doc(nlp, text):
    return nlp("CLINICAL CASE SUMMARY\n" + text)


def test_guideline_source_without_generic_word_and_mtus_titles(nlp):
    d = _rule_doc(nlp, "The ACOEM Guidelines and the MTUS Guidelines apply. The California MTUS 2016 Chronic Pain\n"
                  "Guidelines and the MTUS Opioid Treatment Guidelines state this. Decision based on Non-MTUS\n"
                  "Citation Official Disability Guidelines.")
    g = texts(d, "GUIDELINE")
    assert {"acoem", "mtus", "california mtus", "chronic pain guidelines", "opioid treatment guidelines",
            "official disability guidelines"} <= g
    assert not {"acoem guidelines", "mtus guidelines"} & g
    assert not any("citation" in t for t in g)


def test_symptoms_are_diagnoses_only_in_a_diagnosis_list(nlp):
    d = _rule_doc(nlp, "He complained of low back pain after lifting. Diagnoses include low back pain and lumbar strain.\n"
                  "He sustained an industrial injury.")
    dx = [s for s in spans(d, "DIAGNOSIS") if s.text == "low back pain"]
    assert len(dx) == 1 and d.text.index("Diagnoses") < dx[0].start_char
    assert "industrial injury" not in texts(d, "DIAGNOSIS")


def test_generic_body_nouns_as_modifiers_are_not_sites(nlp):
    d = _rule_doc(nlp, "Muscle relaxants and nerve conduction studies were requested; straight leg raise was\n"
                  "positive. Tenderness of the right trapezius muscle and the medial joint line was noted.")
    body = texts(d, "BODY_PART")
    assert "muscle" not in body and "nerve" not in body and "leg" not in body
    assert "medial joint line" in body


def test_model_drug_filter(nlp):
    rec = nlp.get_pipe("imr_entities")
    assert rec._drug_like("Tramadol") and rec._drug_like("Oxycodone HCL ER") and rec._drug_like("Tramdol")
    assert not rec._drug_like("depression") and not rec._drug_like("opioids")


def test_coordinated_sites_and_icd_style_diagnoses(nlp):
    d = _rule_doc(nlp, "Diagnoses include right and left shoulder joint sprain; cervical sprain and strain; "
                  "strain of muscle, fascia and tendon at neck level; pain in thoracic spine; CRPS II;\n"
                  "and tenosynovitis right wrist. Spurling's and cervical compression test were negative.")
    dx = texts(d, "DIAGNOSIS")
    assert "right and left shoulder joint sprain" in dx
    assert "cervical sprain and strain" in dx
    assert "strain" in dx  # "strain of muscle, fascia and tendon at neck level": the site is not in it
    assert "pain" in dx  # "pain in thoracic spine": the diagnosis list runs on over semicolons
    assert "crps ii" in dx
    assert "tenosynovitis" in dx and "tenosynovitis right wrist" not in dx
    assert "cervical compression" not in dx
    body = texts(d, "BODY_PART")
    assert "right and left shoulder joint" in body
    assert {"thoracic spine", "right wrist", "muscle"} <= body


def test_body_part_coordination_kinds_and_level_laterality(nlp):
    d = _rule_doc(nlp, "Pain in the lumbar and bilateral knees. MRI of the mid and upper thoracic spine and of the\n"
                  "lumbar without contrast. Stenosis at left L5-S1.")
    body = texts(d, "BODY_PART")
    assert "lumbar" in body and "bilateral knees" in body and "lumbar and bilateral knees" not in body
    assert "mid and upper thoracic spine" in body
    assert "left l5-s1" in body


def test_treatment_service_words_and_specialty(nlp):
    d = _rule_doc(nlp, "He was referred for a neurologic consultation, ultrasound testing and a subacromial cortisone\n"
                  "injection; a TENS unit was used.")
    tr = texts(d, "TREATMENT")
    assert "neurologic consultation" in tr
    assert "ultrasound testing" in tr
    assert "subacromial cortisone injection" in tr
    assert "tens unit" in tr


def test_catch_all_treatments_only_where_given(nlp):
    d = _rule_doc(nlp, "Treatment to date has included medications, rest and physical therapy. He remains on\n"
                  "modified duty. The guidelines recommend active therapies, and medications may be used for "
                  "flare-ups. The MTUS supports a home exercise program.")
    treat = [s for s in spans(d, "TREATMENT")]
    words = {s.text.lower() for s in treat}
    assert {"medications", "rest", "physical therapy", "home exercise program"} <= words
    assert "modified duty" not in words and "active therapies" not in words
    # the "medications" of the guideline sentence is not tagged: only the one of the history
    assert len([s for s in treat if s.text.lower() == "medications"]) == 1


def test_compound_strengths_and_slashed_levels():
    from imr_nlp.pipeline import build_pipeline

    d = build_pipeline()("CLINICAL CASE SUMMARY\nHe uses Flurbiprofen 20%/Lidocaine 5% cream, Duexis 800mg/26.6mg, "
                         "ketorolac 0.5 mg/kg and Terocin 10%/5%/5% lotion. MRI showed L4/5 and L5/S1 protrusions.")
    assert {"Flurbiprofen", "Lidocaine", "Duexis", "ketorolac", "Terocin"} <= {s.text for s in spans(d, "DRUG")}
    assert {"20%", "5%", "800mg/26.6mg", "0.5 mg/kg", "10%/5%/5%"} <= {s.text for s in spans(d, "DOSE")}
    assert {"L4/5", "L5/S1"} <= {s.text for s in spans(d, "BODY_PART")}
    lido = next(s for s in spans(d, "DOSE") if s.text == "5%")
    assert lido._.imr_drug == "Lidocaine"


def test_percent_of_relief_is_not_a_strength():
    from imr_nlp.pipeline import build_pipeline

    d = build_pipeline()("CLINICAL CASE SUMMARY\nShe reported 50% pain relief with Norco 10/325 mg and a 30% "
                         "improvement in function; pain improved by 40% with Lidoderm. Ketoprofen 10% in Lipoderm "
                         "base was requested.")
    assert {s.text for s in spans(d, "DOSE")} == {"10/325 mg", "10%"}


@pytest.mark.parametrize("words, kept", [
    ("right and", False), ("bilateral neural foraminal", False), ("lumbar paraspinal muscles", True),
    ("left shoulder", True),
])
def test_model_body_part_must_end_in_an_anatomical_noun(nlp, words, kept):
    """The recognizer's BODY_PART spans are kept only if they end in an anatomical noun ("on the
    right and decreased sensation" gave "right and")."""
    from spacy.tokens import Span

    d = nlp.make_doc(f"Exam showed findings at the {words} today.")
    a = len(nlp.make_doc("Exam showed findings at the"))
    ent = Span(d, a, a + len(nlp.make_doc(words)), label="BODY_PART")
    assert nlp.get_pipe("imr_entities")._model_span_ok(ent, [], []) is kept


@pytest.mark.parametrize("words, kept", [
    ("SIX SESSIONS", False), ("12 visits", False), ("three additional sessions", False), ("two studies", False),
    ("aquatic therapy", True), ("nerve conduction studies", True),
])
def test_model_treatment_that_is_a_count_of_sessions_is_not_kept(nlp, words, kept):
    """A count of sessions or studies is the quantity of a request, not its treatment: the
    recognizer tagged "SIX SESSIONS" in an item written in capitals."""
    from spacy.tokens import Span

    d = nlp.make_doc(f"The provider requested {words} for the low back.")
    a = len(nlp.make_doc("The provider requested"))
    ent = Span(d, a, a + len(nlp.make_doc(words)), label="TREATMENT")
    assert nlp.get_pipe("imr_entities")._model_span_ok(ent, [], []) is kept


@pytest.mark.parametrize("term, label", [
    ("sleep study", "TREATMENT"), ("dry needling", "TREATMENT"), ("bone growth stimulator", "TREATMENT"),
    ("vestibular therapy", "TREATMENT"), ("ganglion cyst", "DIAGNOSIS"), ("sexual dysfunction", "DIAGNOSIS"),
])
def test_common_services_and_conditions_in_the_lexicons(nlp, term, label):
    sentence = f"The provider requested a {term}." if label == "TREATMENT" else f"Diagnoses include {term}."
    d = nlp(f"CLINICAL CASE SUMMARY\nThe patient was seen on 1/2/2016. {sentence}")
    assert term in texts(d, label)


def test_saved_pipeline_keeps_the_tokenizer_rules():
    import imr_nlp

    nlp = imr_nlp.load()
    assert [t.text for t in nlp.make_doc("Flurbiprofen 20%/Lidocaine 5%")] == \
        ["Flurbiprofen", "20%", "/", "Lidocaine", "5", "%"]


def test_devices_keep_their_site_other_treatments_lose_it(nlp):
    d = _rule_doc(nlp, "The patient was to receive physical therapy, a TENS unit, a right wrist brace, a lumbar spine\n"
                  "support and a postop sling. He underwent a lumbar fusion in 2015.")
    tr = texts(d, "TREATMENT")
    assert {"wrist brace", "lumbar spine support", "postop sling", "fusion"} <= tr
    assert "lumbar fusion" not in tr and "brace" not in tr
    assert "right wrist" in texts(d, "BODY_PART")  # the site inside the device is still a site



def test_devices_and_imaging_keep_the_words_that_say_their_kind(nlp):
    """A device's kind ("hinged", "lace-up", "night extension", "CAM walker") and an imaging study's
    view ("weight-bearing", "standing") are part of the name; a hyphenated word split by the
    tokenizer counts as one word."""
    d = _rule_doc(nlp, "The worker was fitted with a lace-up ankle brace and a CAM walker boot, wore a night\n"
                  "extension splint and a counterforce strap, and had weight-bearing x-rays, standing radiographs\n"
                  "and an intra-articular steroid injection. The right knee is hinged at surgery.")
    tr = texts(d, "TREATMENT")
    assert {"lace-up ankle brace", "cam walker boot", "night extension splint", "counterforce strap",
            "weight-bearing x-rays", "standing radiographs", "intra-articular steroid injection"} <= tr, tr
    assert not tr & {"ankle brace", "boot", "walker", "splint", "x-rays", "radiographs", "steroid injection"}, tr
    assert "ankle" in texts(d, "BODY_PART")


def test_services_of_internal_medicine_and_hospital_care(nlp):
    """Names of tests, devices and stays outside the musculoskeletal core, with the word that makes
    them a service ("refills", "implantation", "stay") and a device's site qualifier."""
    d = _rule_doc(nlp, "He uses continuous positive airway pressure and had a urea breath test, a treadmill stress\n"
                  "test, intrathecal pump refills, spinal cord stimulator implantation, an occipital nerve stimulator,\n"
                  "paraffin wax baths, a skilled nursing facility stay and a 3-in-1 commode. The right ring finger\n"
                  "trigger finger release was certified.")
    tr = texts(d, "TREATMENT")
    assert {"continuous positive airway pressure", "urea breath test", "treadmill stress test",
            "intrathecal pump refills", "spinal cord stimulator implantation", "occipital nerve stimulator",
            "paraffin wax baths", "skilled nursing facility stay", "3-in-1 commode", "trigger finger release"} <= tr, tr
    assert not tr & {"treadmill", "stress test", "nerve stimulator", "finger trigger finger release"}, tr


def test_joint_blocks_are_treatments_and_a_hyphenated_kind_stays_with_its_condition(nlp):
    d = _rule_doc(nlp, "Diagnoses: cam-type femoroacetabular impingement. He had right sacroiliac joint blocks\n"
                  "and facet joint blocks in 2015.")
    assert {"sacroiliac joint blocks", "facet joint blocks"} <= texts(d, "TREATMENT")
    dx = texts(d, "DIAGNOSIS")
    assert "cam-type femoroacetabular impingement" in dx and not any("blocks" in t for t in dx), dx


def test_surgical_names_keep_their_approach_and_extent(nlp):
    d = _rule_doc(nlp, "He underwent an arthroscopic partial medial meniscectomy in 2014 and a lumbar fusion. The\n"
                  "request is for posterior lumbar interbody fusion. She had a total hip arthroplasty, and the plan\n"
                  "was laparoscopic versus open umbilical hernia repair.")
    tr = texts(d, "TREATMENT")
    assert {"arthroscopic partial medial meniscectomy", "posterior lumbar interbody fusion",
            "total hip arthroplasty", "fusion", "umbilical hernia repair"} <= tr, tr
    assert not tr & {"meniscectomy", "interbody fusion", "lumbar fusion", "open umbilical hernia repair"}, tr

def test_rfa_is_the_request_not_a_treatment():
    from imr_nlp.pipeline import build_pipeline

    d = build_pipeline()("CLINICAL CASE SUMMARY\nThe RFA (request for authorization) dated 12/01/2016 requested\n"
                         "physical therapy. On an RFA form dated 12/05/2016 an MRI was requested.")
    tr = texts(d, "TREATMENT")
    assert "rfa" not in tr
    assert {"physical therapy", "mri"} <= tr


def test_joined_tests_and_drug_class_medications():
    from imr_nlp.pipeline import build_pipeline

    d = build_pipeline()("CLINICAL CASE SUMMARY\nTreatment has included pain medications, sleep medications,\n"
                         "anti-inflammatory medication and EMG-NCS. He requested NCS-EMG (nerve conduction velocity\n"
                         "studies-electromyography) and an electromyogram (EMG)-nerve conduction studies (NCV).")
    tr = texts(d, "TREATMENT")
    assert {"pain medications", "emg-ncs", "ncs-emg", "nerve conduction velocity studies", "electromyography",
            "electromyogram", "nerve conduction studies"} <= tr
    assert not {"medications", "medication", "sleep medications"} & tr
    assert not any(")" in t for t in tr)


def test_diagnosis_lists_split_plurals_and_always_diagnoses(nlp):
    d = _rule_doc(nlp, "Diagnoses include right shoulder strain right elbow contusion and cervical sprain strain.\n"
                  "He has knee effusions and gastric ulcers. The physician noted neuropathic pain in the foot.")
    dx = texts(d, "DIAGNOSIS")
    assert {"right shoulder strain", "right elbow contusion", "cervical sprain strain", "knee effusions",
            "gastric ulcers", "neuropathic pain"} <= dx
    assert "right shoulder strain right elbow contusion" not in dx


def test_sites_extend_over_muscles_and_generic_nouns_before_non_anatomy_are_not_sites():
    from imr_nlp.pipeline import build_pipeline

    d = build_pipeline()("CLINICAL CASE SUMMARY\nThere was tenderness of the lateral deltoid muscles and the upper\n"
                         "trapezii muscles. Conservative treatment included NSAIDs and muscle relaxants, and there\n"
                         "was no deficit in muscle strength.")
    body = texts(d, "BODY_PART")
    assert {"lateral deltoid muscles", "upper trapezii muscles"} <= body
    assert "muscle" not in body


def test_general_medical_history_conditions(nlp):
    d = _rule_doc(nlp, "Past medical history includes COPD, atrial fibrillation, a prior TIA and opioid-induced\n"
                  "constipation. She also has Dupuytren's contracture of the left hand.")
    dx = texts(d, "DIAGNOSIS")
    assert {"copd", "atrial fibrillation", "tia", "opioid-induced constipation", "dupuytren's contracture"} <= dx


def test_procedures_found_by_their_form(nlp):
    """Procedures missing from the lexicon: a procedure word ending, a surgical head with its lesion."""
    d = _rule_doc(nlp, "He underwent a right wrist scar tissue excision and a synovectomy, then a left\n"
                  "biceps tenodesis. A functional restoration program was discussed; an electro-\n"
                  "myography was normal. There was a reduction in pain. A repeat arthrogram is requested.")
    t = texts(d, "TREATMENT")
    assert {"scar tissue excision", "synovectomy", "biceps tenodesis", "arthrogram"} <= t
    assert not {"wrist scar tissue excision", "left biceps tenodesis", "program", "myography", "reduction"} & t


def test_medication_is_a_treatment_only_in_a_list_of_care(nlp):
    """'medication' names the patient's care in a list of treatment given, not when it refers to a drug."""
    given = _rule_doc(nlp, "Prior care included chiropractic sessions and medication. He walks daily.")
    assert "medication" in texts(given, "TREATMENT")
    back = _rule_doc(nlp, "Her present medication regimen was not listed. Nothing shows that she cannot\n"
                     "tolerate this medication by mouth.")
    assert "medication" not in texts(back, "TREATMENT")


def test_education_is_a_treatment(nlp):
    d = _rule_doc(nlp, "Active care such as exercise, education and activity modification comes\n"
                  "first.")
    assert "education" in texts(d, "TREATMENT")


def test_services_from_the_checklist_and_consultations_by_specialty(nlp):
    d = _rule_doc(nlp, "The request was for a nutritionist consultation, pulmonary function testing, a stair lift\n"
                  "and osteopathic manipulative treatment.")
    assert {"nutritionist consultation", "pulmonary function testing", "stair lift",
            "osteopathic manipulative treatment"} <= texts(d, "TREATMENT")


def test_one_word_treatments_written_as_one_stay_one(nlp):
    d = _rule_doc(nlp, "Treatment has included chiropractic/physiotherapy, braces-splints and ice-heat therapy.\n"
                  "Nerve conduction studies-electromyography was requested.")
    t = texts(d, "TREATMENT")
    assert {"chiropractic/physiotherapy", "braces-splints", "ice-heat therapy", "nerve conduction studies",
            "electromyography"} <= t
    assert not {"chiropractic", "splints", "nerve conduction studies-electromyography"} & t


@pytest.mark.parametrize("item, quantity", [
    ("Physical therapy three times a week for three weeks for the right knee", "three times a week for three weeks"),
    ("Chiropractic treatment 1-2 times a week for 8 weeks", "1-2 times a week for 8 weeks"),
    ("Ten physical therapy sessions for the left wrist", "Ten"),
    ("One (1) MRI of the cervical spine", "One (1)"),
    ("One container of Ketoprofen 10%, Lidocaine 5%", "One container"),
    ("Three phase bone scan of the right hand", None),
    ("Three refills of Naproxen 550mg #60", "#60"),
    ("Iontophoresis with lidocaine 4% QTY: 2.00", "2.00"),
    ("Meloxicam 15mg once daily #30", "#30"),
    ("Diclofenac 10% in cream base 120g", "120g"),
    ("Cold therapy unit rental for one week", "one week"),
    ("Home health nurse 2-4 visits", "2-4 visits"),
    ("Continuous passive motion machine, 21 day rental", "21 day rental"),
    ("Gym membership, three months coverage", "three months coverage"),
    ("Functional restoration program, 80 hours", "80 hours"),
    ("Dental implants for teeth #8 and #9 (QTY: 2.00)", "2.00"),
    ("Weight loss program x 12 weeks", "x 12 weeks"),
    ("Six (6) additional sessions of hand therapy for the right hand", "Six (6) additional sessions"),
])
def test_item_quantity_as_annotated(nlp, item, quantity):
    """ANNOTATION.md: quantity as written, for drugs and services alike ("#60", "1.00", "12
    sessions", "2 times a week for 4 weeks")."""
    text = f"IMR ISSUES, DECISIONS AND RATIONALES\n{item}: Upheld\n"
    d = nlp(text)
    fields = item_fields(d, {"text_start": text.index(item), "text_end": text.index(": Upheld")})
    assert fields["quantity"] == quantity


def test_site_and_timing_words_before_a_treatment_name_drop(nlp):
    d = _rule_doc(nlp, "Post operative physical therapy and a lumbar spine fusion were requested.")
    t = texts(d, "TREATMENT")
    assert {"physical therapy", "fusion"} <= t
    assert not {"post operative physical therapy", "lumbar spine fusion"} & t


def test_drug_classes_are_not_drugs_and_brands_keep_their_number(nlp):
    d = _rule_doc(nlp, "Benzodiazepines are not recommended. He takes Tylenol No. 3 and had an MRI with\n"
                  "gadolinium.")
    drugs = texts(d, "DRUG")
    assert {"tylenol no. 3", "gadolinium"} <= drugs
    assert not {"benzodiazepines", "tylenol"} & drugs


def test_morphine_equivalent_threshold_is_not_a_dose(nlp):
    d = _rule_doc(nlp, "His total is 60 mg/day MED, and the limit is 120 mg oral morphine equivalents a\n"
                  "day. He takes Norco 10/325 mg.")
    assert texts(d, "DOSE") == {"10/325 mg"}


def test_compound_strengths_written_with_hyphens_or_per_gram(nlp):
    d = _rule_doc(nlp, "Ketoprofen 10% 100mg/g and Trezix 325-30-\n16mg were requested; Norco 7.5-325mg.")
    assert {"100mg/g", "325-30-16mg", "7.5-325mg"} <= {"".join(t.split()) for t in texts(d, "DOSE")}
    assert not {"16mg", "100mg", "325mg"} & texts(d, "DOSE")


def test_concentrations_and_thousands_are_one_strength(nlp):
    d = _rule_doc(nlp, "Synvisc-One 48mg/6mL was injected; ergocalciferol 50,000 IU weekly was continued.")
    doses = {"".join(t.split()) for t in texts(d, "DOSE")}
    assert {"48mg/6ml", "50,000iu"} <= doses, doses
    assert not {"48mg", "6ml", "000iu"} & doses, doses


def test_condition_named_with_the_word_injury_is_one_mention(nlp):
    d = _rule_doc(nlp, "Diagnoses include left knee contusion injury and a crush\ninjury of the right hand. "
                  "The injury occurred at work.")
    dx = texts(d, "DIAGNOSIS")
    assert {"left knee contusion injury", "crush injury"} <= dx
    assert "left knee contusion" not in dx and "injury" not in dx


def test_gait_exam_words_are_not_sites(nlp):
    d = _rule_doc(nlp, "On examination heel and toe walking was difficult, heel to toe walk was unsteady and he\n"
                  "could not toe walk. There was tenderness over the left heel.")
    body = texts(d, "BODY_PART")
    assert body == {"left heel"}


@pytest.mark.parametrize("item, treatment", [
    ("Jamar grip test", "Jamar grip test"),
    ("Pre-op clearance", "clearance"),
    ("Retrospective request for vexometry", "vexometry"),
    ("Vexotherapy two times a week for four weeks for the right elbow", "Vexotherapy"),
    ("Six sessions of vexotherapy for the cervical spine, thoracic spine, and lumbar spine", "vexotherapy"),
    ("Zorblax 15mg", None),
    ("Zorblax #60", None),
    ("Zorblax cream 120g", None),
    ("1 prescription of 500 mg", None),
])
def test_item_service_no_lexicon_knows_is_still_its_treatment(nlp, item, treatment):
    """An item with no TREATMENT span and no drug, strength or pill count requests a service whose
    name the lexicons do not know: its treatment is the item text up to the site or quantity."""
    text = f"IMR ISSUES, DECISIONS AND RATIONALES\n{item}: Upheld\n"
    d = nlp(text)
    fields = item_fields(d, {"text_start": text.index(item), "text_end": text.index(": Upheld")})
    assert fields["treatment"] == treatment


def test_long_form_defined_in_the_letter_takes_the_abbreviation_label(nlp):
    d = _rule_doc(nlp, "He was offered a glowsonic platelet-rich\nplasma (PRP) injection and a trial of "
                  "transcutaneous electrical neurostimulation (TENS).")
    treat = texts(d, "TREATMENT")
    assert {"transcutaneous electrical neurostimulation", "tens"} <= treat
    assert any(t.startswith("platelet-rich") for t in treat)


@pytest.mark.parametrize("item, drugs", [
    ("Zorblax ER 15mg #60", ["Zorblax"]),
    ("Retrospective Zorblax HCL 10 mg", ["Zorblax"]),
    ("Zorblax cream 5% 120g", ["Zorblax"]),
    ("Two bottles of Zorblax #60", ["Zorblax"]),
    ("1 prescription of 500 mg", []),
    ("Jamar grip test", []),
])
def test_item_medication_no_lexicon_knows_is_still_its_drug(nlp, item, drugs):
    """An item with a strength, a "#" count or a dosage form but no drug found asks for a
    medication newer than the vocabularies: its name, without release or dosage form, is the drug."""
    text = f"IMR ISSUES, DECISIONS AND RATIONALES\n{item}: Upheld\n"
    d = nlp(text)
    fields = item_fields(d, {"text_start": text.index(item), "text_end": text.index(": Upheld")})
    assert fields["drugs"] == drugs
    if drugs:
        assert fields["treatment"] is None


def test_no_diagnosis_inside_a_procedure_name_but_the_lesion_a_repair_takes(nlp):
    """'stellate ganglion block' is a block of a ganglion, not a ganglion cyst; 'occipital nerve
    block' no heart block; but 'umbilical hernia repair' repairs a hernia (a surgical head)."""
    d = _rule_doc(nlp, "A stellate ganglion block, an occipital nerve block and a medial branch block were\n"
                  "requested, and later an umbilical hernia repair. Bilateral medial branch blocks gave relief.")
    assert {"stellate ganglion block", "occipital nerve block", "medial branch block",
            "umbilical hernia repair"} <= texts(d, "TREATMENT")
    assert texts(d, "DIAGNOSIS") == {"umbilical hernia"}


@pytest.mark.parametrize("item, treatment", [
    # only the short form was found: the item's own long form before it is the request
    ("TRIGGER POINTS IMPEDANCE IMAGING (TPII)", "TRIGGER POINTS IMPEDANCE IMAGING"),
    # initials that do not spell it, or no parenthesis: the mention as found
    ("IMPEDANCE TESTING (TPII)", "TPII"),
    ("TPII OF THE BACK", "TPII"),
])
def test_item_treatment_spells_out_an_abbreviation_the_item_defines(item, treatment):
    """Upper-case items (2013-14) may give the recognizer the short form only."""
    text = f"IMR ISSUES, DECISIONS AND RATIONALES\n{item}: Upheld\n"
    d = spacy.blank("en")(text)
    short = text.index("TPII")
    d.spans[SPANS_KEY] = [d.char_span(short, short + 4, label="TREATMENT")]
    fields = item_fields(d, {"text_start": text.index(item), "text_end": text.index(": Upheld")})
    assert fields["treatment"] == treatment


def test_general_conditions_and_their_abbreviation(nlp):
    """Conditions outside the musculoskeletal core (venous thromboembolism, claudication,
    arthrofibrosis, sleep apnea) are diagnoses, and a short form defined for one takes its label."""
    d = _rule_doc(nlp, "After a total knee arthroplasty the risk of venous\nthromboembolism (VTE) is high. "
                  "He reports neurogenic claudication; she has arthrofibrosis and obstructive sleep apnea.")
    dx = texts(d, "DIAGNOSIS")
    assert {"venous thromboembolism", "vte", "neurogenic claudication", "arthrofibrosis",
            "obstructive sleep apnea"} <= dx


def test_grade_is_not_a_type_number_and_a_site_after_a_condition_is_not_coordinated(nlp):
    d = _rule_doc(nlp, "Diagnoses include chondromalacia of the right knee and right knee sprain, grade II\n"
                  "chondromalacia of the patella, type II diabetes and diagnoses of neck and shoulder strain.")
    dx = texts(d, "DIAGNOSIS")
    assert {"chondromalacia", "right knee sprain", "type ii diabetes", "neck and shoulder strain"} <= dx
    assert not {"right knee and right knee sprain", "ii chondromalacia"} & dx


def test_treatment_plurals_and_service_head_nouns(nlp):
    """A plural of a lexicon name and the head noun written after a name ("units", "aides",
    "screens", "system") are part of the mention; a plural of a generic service word is not."""
    d = _rule_doc(nlp, "Treatment included cold therapy units, home health aides, urine toxicology screens,\n"
                  "an intrathecal drug delivery system and H-wave stimulation. Consultations were held.")
    treat = texts(d, "TREATMENT")
    assert {"cold therapy units", "home health aides", "urine toxicology screens",
            "intrathecal drug delivery system", "h-wave stimulation"} <= treat
    assert "consultations" not in treat


def test_dental_services_sites_and_psychological_tests(nlp):
    d = _rule_doc(nlp, "She fractured the left zygomatic arch and the maxillary central incisors. Cone beam CT,\n"
                  "periapical radiographs, implant crowns and a fixed bridge were requested. A Beck Depression\n"
                  "Inventory and the Epworth Sleepiness Scale were given.")
    assert {"cone beam ct", "periapical radiographs", "implant crowns", "fixed bridge",
            "beck depression inventory", "epworth sleepiness scale"} <= texts(d, "TREATMENT")
    assert {"left zygomatic arch", "maxillary central incisors"} <= texts(d, "BODY_PART")


def test_societies_cited_as_guideline_sources(nlp):
    d = _rule_doc(nlp, "Decision based on Non-MTUS Citation American College of Surgeons, Physicians as\n"
                  "Assistants at Surgery, 2016. The American Academy of Sleep Medicine (AASM) and the National\n"
                  "Heart, Lung, and Blood Institute agree; see also the Aetna Clinical Policy Bulletin.")
    guides = texts(d, "GUIDELINE")
    assert {"american college of surgeons", "american academy of sleep medicine", "aasm",
            "national heart, lung, and blood institute", "aetna clinical policy bulletin"} <= guides
    assert not {"heart", "lung"} & texts(d, "BODY_PART")


def test_morphine_equivalent_is_no_drug_and_drug_classes_are_not_drugs(nlp):
    d = _rule_doc(nlp, "The total daily dose is 40 morphine\nequivalent milligrams. Morphine sulfate 15 mg was "
                  "stopped; prophylaxis with a low-molecular-weight heparin such as Lovenox is advised.")
    drugs = texts(d, "DRUG")
    assert drugs >= {"morphine", "lovenox"}
    assert "low-molecular-weight heparin" not in drugs
    starts = [s.start_char for s in spans(d, "DRUG") if s.text.lower() == "morphine"]
    assert starts == [d.text.lower().index("morphine sulfate")]


def test_drug_names_without_their_form_and_no_ordinary_words_as_drugs(nlp):
    """ANNOTATION.md: a DRUG is the name without its form ("Voltaren Gel" -> "Voltaren"); a
    dosage form ("nasal spray"), a drug class ("triptans") and an English word that is also a
    chemical's abbreviation ("sits") are not drugs; multi-word brands stay whole."""
    d = _rule_doc(nlp, "She uses Voltaren Gel 1% and Narcan 4mg nasal spray; the keyboard sits too high.\n"
                  "Triptans were tried. Sentra PM and Synvisc-One were requested.")
    drugs = texts(d, "DRUG")
    assert {"voltaren", "narcan", "sentra pm", "synvisc-one"} <= drugs
    assert not {"voltaren gel", "nasal spray", "sits", "triptans", "sentra"} & drugs


def test_head_injury_foot_and_medication_conditions_and_their_sites(nlp):
    d = _rule_doc(nlp, "Diagnoses include a right frontal subdural hematoma with intracranial hemorrhage,\n"
                  "post-concussive syndrome, diffuse axonal injury, tension-type headache, opiate addiction,\n"
                  "pes planus, calcaneal spurs and delayed union. Tenderness over the occiput and the\n"
                  "syndesmosis, the medial compartment and the left frontal lobe.")
    assert {"right frontal subdural hematoma", "intracranial hemorrhage", "post-concussive syndrome",
            "diffuse axonal injury", "tension-type headache", "opiate addiction", "pes planus",
            "calcaneal spurs", "delayed union"} <= texts(d, "DIAGNOSIS")
    assert {"occiput", "syndesmosis", "medial compartment", "left frontal lobe"} <= texts(d, "BODY_PART")
