"""The starting catalogue, from the clinic's own material (DESIGN.md section 3).

Skinboosters and PRP protocols are not in that material: they ship as clinic defaults marked
``needs_review`` so an admin confirms them before relying on them.
"""

from __future__ import annotations

from typing import Any

CONCERNS: list[dict[str, str]] = [
    {
        "slug": "fine-lines",
        "name": "Fine lines and crepey texture",
        "name_ko": "잔주름과 얇고 주름진 피부결",
    },
    {"slug": "enlarged-pores", "name": "Enlarged pores", "name_ko": "넓은 모공"},
    {
        "slug": "redness-sensitivity",
        "name": "Redness and sensitivity",
        "name_ko": "붉은기와 민감성",
    },
    {"slug": "acne-scars", "name": "Acne scars", "name_ko": "여드름 흉터"},
    {
        "slug": "thinning-skin",
        "name": "Thinning skin (under the eyes, neck)",
        "name_ko": "얇아진 피부 (눈밑, 목)",
    },
    {
        "slug": "post-acne-pigmentation",
        "name": "Residual pigmentation after acne",
        "name_ko": "여드름 후 색소침착",
    },
    {"slug": "loss-of-elasticity", "name": "Skin that has lost its bounce", "name_ko": "탄력 저하"},
    {
        "slug": "post-procedure-recovery",
        "name": "Recovery after lasers or microneedling",
        "name_ko": "레이저·MTS 시술 후 회복",
    },
    {
        "slug": "dehydration",
        "name": "Dry, dehydrated skin",
        "name_ko": "건조하고 수분이 부족한 피부",
    },
    {
        "slug": "dullness",
        "name": "Dull, tired-looking skin",
        "name_ko": "칙칙하고 피곤해 보이는 피부",
    },
]

CONTRAINDICATIONS: list[dict[str, str]] = [
    {
        "slug": "fish-allergy",
        "name": "Fish or salmon allergy",
        "name_ko": "생선(연어) 알레르기",
        "description": "Polynucleotides are derived from salmon DNA.",
    },
    {
        "slug": "pregnancy",
        "name": "Pregnancy or breastfeeding",
        "name_ko": "임신 또는 수유 중",
        "description": "Elective injectables are postponed until after pregnancy and breastfeeding.",
    },
    {
        "slug": "active-skin-infection",
        "name": "Active skin infection at the treatment site",
        "name_ko": "시술 부위의 활동성 피부 감염",
        "description": "Injecting through infected skin (e.g. cold sores, cystic acne) spreads it.",
    },
    {
        "slug": "anticoagulants",
        "name": "Anticoagulant or antiplatelet medication",
        "name_ko": "항응고제 또는 항혈소판제 복용",
        "description": "Affects the blood draw and platelet function that PRP relies on.",
    },
    {
        "slug": "platelet-disorder",
        "name": "Platelet or bleeding disorder",
        "name_ko": "혈소판 또는 출혈 질환",
        "description": "PRP depends on the patient's own working platelets.",
    },
    {
        "slug": "hyaluronic-acid-allergy",
        "name": "Allergy to hyaluronic acid products",
        "name_ko": "히알루론산 제품 알레르기",
        "description": "A previous reaction to a hyaluronic-acid filler or booster.",
    },
]

_REJURAN_AFTERCARE = (
    "Mild swelling or redness for 1–2 days is normal, and the small injection bumps fade within "
    "24–48 hours. Your skin may feel tight for a while. There is no downtime. For 24 hours, avoid "
    "saunas, hard exercise and alcohol, keep make-up light, and wear sunscreen."
)
_REJURAN_AFTERCARE_KO = (
    "1~2일간 가벼운 붓기나 붉은기가 있을 수 있으며, 주사 자국의 작은 돌기는 24~48시간 안에 "
    "사라집니다. 한동안 피부가 당기는 느낌이 들 수 있습니다. 일상생활에는 지장이 없습니다. "
    "24시간 동안 사우나, 격한 운동, 음주를 피하고 화장은 가볍게, 자외선 차단제를 꼭 발라 주세요."
)

_REJURAN_PREPARATION = (
    "Please arrive 10 minutes early: numbing cream goes on about 30 minutes before the "
    "injections. Come without make-up if you can and avoid alcohol the day before. Tell us about "
    "any new medicine, allergy or pregnancy, and ask us before taking aspirin or ibuprofen, which "
    "make bruising more likely."
)
_REJURAN_PREPARATION_KO = (
    "시술 30분 전쯤 마취 크림을 바르니 10분 일찍 와 주세요. 가능하면 화장을 하지 않고 오시고, "
    "전날에는 음주를 피해 주세요. 새로 드시는 약이나 알레르기, 임신 여부는 꼭 알려 주세요. "
    "아스피린이나 이부프로펜은 멍이 들기 쉬우니 드시기 전에 먼저 문의해 주세요."
)

TREATMENTS: list[dict[str, Any]] = [
    {
        "slug": "rejuran-healer",
        "name": "Rejuran Healer",
        "name_ko": "리쥬란 힐러",
        "core_ingredient": "Polynucleotides (PN, salmon DNA)",
        "core_ingredient_ko": "폴리뉴클레오티드(PN, 연어 DNA)",
        "primary_effect": "Cell regeneration and anti-inflammation",
        "primary_effect_ko": "세포 재생과 항염 효과",
        "texture_change": "moderate",
        "long_term_benefit": "high",
        "description": (
            "Polynucleotide injections that support the skin's own repair: hydration and glow "
            "after about two sessions, full strengthening around 2–3 months after the start."
        ),
        "description_ko": (
            "피부 자체의 재생을 돕는 폴리뉴클레오티드 주사입니다. 약 2회 시술 후 수분감과 광채가, "
            "시작 후 2~3개월쯤 피부 강화 효과가 나타납니다."
        ),
        "typical_candidates": (
            "Late 20s to 50s; sensitive, redness-prone skin; patients recovering from lasers or "
            "microneedling."
        ),
        "typical_candidates_ko": (
            "20대 후반~50대, 붉은기가 잦은 민감성 피부, 레이저·MTS 시술 후 회복 중인 분."
        ),
        # "Late 20s to 50s" from the clinic material.
        "candidate_age_min": 25,
        "candidate_age_max": 59,
        "combines_with": "Structural procedures: fat grafting, fractional laser resurfacing, facelift.",
        "combines_with_ko": "구조적 시술: 지방 이식, 프락셔널 레이저 리서페이싱, 안면거상술.",
        "session_minutes": 45,
        "preparation": _REJURAN_PREPARATION,
        "preparation_ko": _REJURAN_PREPARATION_KO,
        "aftercare": _REJURAN_AFTERCARE,
        "aftercare_ko": _REJURAN_AFTERCARE_KO,
        "indications": {
            "thinning-skin": 5,
            "redness-sensitivity": 5,
            "post-procedure-recovery": 5,
            "fine-lines": 4,
            "loss-of-elasticity": 4,
            "enlarged-pores": 4,
            "acne-scars": 3,
            "post-acne-pigmentation": 3,
        },
        "contraindications": ["fish-allergy", "pregnancy", "active-skin-infection"],
        "protocols": [
            {
                "name": "Standard course",
                "is_default": True,
                "initial_sessions_min": 3,
                "initial_sessions_max": 4,
                "initial_sessions_default": 3,
                "interval_days_min": 21,
                "interval_days_max": 28,
                "interval_days_default": 28,
                "maintenance_interval_months": 6,
                "needs_review": False,
                "notes": "3–4 sessions 3–4 weeks apart, then maintenance every 6 months.",
                "milestones": [
                    {
                        "description": "First visible change: hydration and glow",
                        "description_ko": "첫 변화: 수분감과 광채",
                        "after_session": 2,
                    },
                    {
                        "description": "Full strengthening effect",
                        "description_ko": "피부 강화 효과 완성",
                        "months_from_start_min": 2,
                        "months_from_start_max": 3,
                    },
                ],
            }
        ],
    },
    {
        "slug": "skinboosters",
        "name": "Skinboosters",
        "name_ko": "스킨부스터",
        "core_ingredient": "Hyaluronic acid",
        "core_ingredient_ko": "히알루론산",
        "primary_effect": "Deep hydration and slight plumping",
        "primary_effect_ko": "깊은 보습과 은은한 볼륨감",
        "texture_change": "immediate",
        "long_term_benefit": "mild",
        "description": "Micro-injections of hyaluronic acid for deep hydration with a subtle lift.",
        "description_ko": "히알루론산 미세 주입으로 깊은 보습과 은은한 볼륨을 줍니다.",
        "typical_candidates": "Dry or dehydrated skin; dull skin before an event.",
        "typical_candidates_ko": "건조하고 수분이 부족한 피부, 중요한 일정을 앞둔 칙칙한 피부.",
        # No age band in the clinic material: left empty, so no age note is shown.
        "combines_with": "",
        "session_minutes": 30,
        "preparation": (
            "Please arrive 10 minutes early for numbing cream. Come without make-up if you can and avoid alcohol the day before. With an event coming up, book at least a week ahead: small bumps can take a day or two to settle."
        ),
        "preparation_ko": (
            "마취 크림을 바르니 10분 일찍 와 주세요. 가능하면 화장을 하지 않고 오시고, 전날에는 음주를 피해 주세요. 중요한 일정이 있다면 작은 돌기가 가라앉도록 적어도 일주일 전에 시술을 받으세요."
        ),
        "aftercare": (
            "Small bumps and mild redness settle within a day or two. Avoid saunas, hard exercise "
            "and alcohol for 24 hours and do not massage the treated area."
        ),
        "aftercare_ko": (
            "작은 돌기와 가벼운 붉은기는 하루이틀 안에 가라앉습니다. 24시간 동안 사우나, 격한 운동, "
            "음주를 피하고 시술 부위를 문지르지 마세요."
        ),
        "indications": {"dehydration": 5, "dullness": 4, "fine-lines": 3, "loss-of-elasticity": 3},
        "contraindications": ["hyaluronic-acid-allergy", "pregnancy", "active-skin-infection"],
        "protocols": [
            {
                "name": "Clinic default course",
                "is_default": True,
                "initial_sessions_min": 2,
                "initial_sessions_max": 4,
                "initial_sessions_default": 3,
                "interval_days_min": 28,
                "interval_days_max": 35,
                "interval_days_default": 28,
                "maintenance_interval_months": 6,
                "needs_review": True,
                "notes": (
                    "Clinic default to review: not from the manufacturer's material. "
                    "3 sessions 4 weeks apart, maintenance every 6 months."
                ),
                "milestones": [],
            }
        ],
    },
    {
        "slug": "prp",
        "name": "PRP",
        "name_ko": "PRP (자가혈 주사)",
        "core_ingredient": "The patient's own plasma growth factors",
        "core_ingredient_ko": "환자 본인 혈장의 성장인자",
        "primary_effect": "Regeneration from growth factors",
        "primary_effect_ko": "성장인자를 통한 재생",
        "texture_change": "variable",
        "long_term_benefit": "medium",
        "description": (
            "Platelet-rich plasma prepared from the patient's own blood and injected to stimulate "
            "repair."
        ),
        "description_ko": "환자 본인의 혈액에서 분리한 혈소판 풍부 혈장을 주입해 재생을 돕습니다.",
        "typical_candidates": "Patients who prefer an autologous treatment.",
        "typical_candidates_ko": "자가 유래 성분의 시술을 선호하는 분.",
        # No age band in the clinic material: left empty, so no age note is shown.
        "combines_with": "Microneedling.",
        "combines_with_ko": "마이크로니들링(MTS).",
        "session_minutes": 60,
        "preparation": (
            "A little blood is drawn: eat a normal meal and drink plenty of water beforehand. Avoid anti-inflammatory painkillers (such as ibuprofen) for 3 days before, tell us about any blood thinners, and come without make-up if you can."
        ),
        "preparation_ko": (
            "채혈을 하니 식사를 거르지 말고 물을 충분히 드시고 와 주세요. 시술 3일 전부터 이부프로펜 같은 소염진통제는 피하시고, 혈액을 묽게 하는 약을 드신다면 꼭 알려 주세요. 가능하면 화장을 하지 않고 오세요."
        ),
        "aftercare": (
            "Redness and swelling usually settle within 1–2 days; bruising at the blood-draw or "
            "injection sites can take a few days to fade. Do not wash the face for 6 hours and "
            "avoid anti-inflammatory painkillers for 3 days."
        ),
        "aftercare_ko": (
            "붉은기와 붓기는 보통 1~2일 안에 가라앉고, 채혈·주사 부위의 멍은 며칠 걸릴 수 있습니다. "
            "6시간 동안 세안을 피하고 3일간 소염진통제를 복용하지 마세요."
        ),
        "indications": {
            "acne-scars": 4,
            "thinning-skin": 3,
            "fine-lines": 3,
            "dullness": 3,
            "post-procedure-recovery": 3,
        },
        "contraindications": [
            "anticoagulants",
            "platelet-disorder",
            "pregnancy",
            "active-skin-infection",
        ],
        "protocols": [
            {
                "name": "Clinic default course",
                "is_default": True,
                "initial_sessions_min": 3,
                "initial_sessions_max": 3,
                "initial_sessions_default": 3,
                "interval_days_min": 28,
                "interval_days_max": 42,
                "interval_days_default": 28,
                "maintenance_interval_months": 6,
                "needs_review": True,
                "notes": (
                    "Clinic default to review: not from the manufacturer's material. "
                    "3 sessions 4–6 weeks apart, maintenance every 6 months."
                ),
                "milestones": [],
            }
        ],
    },
]
