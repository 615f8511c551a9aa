"""Synthetic free-text messages for leads: web form questions and chat / SMS messages.

Each text is labelled with an intent (what the writer wants) and an urgency (how soon). A few urgent
texts describe urgent clinical symptoms (the clinical-triage override must catch them) and a few routine
ones mention a symptom only to deny it ("no chest pain, just a checkup"), so that a negation-aware
detector can be tested against realistic traps.

Texts carry no identifiers: no names, phone numbers, e-mail addresses, dates of birth or record numbers.

Speed: the template pools are rendered once (deterministically, from a fixed internal seed) and cached;
each call only draws indices with the caller's generator and joins a few strings per text, so a million
texts take a few seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pandas as pd

from careleads.errors import InputError

__all__ = [
    "INTENTS",
    "KINDS",
    "URGENCIES",
    "generate_texts",
    "generate_labelled",
    "make_labelled_texts",
]

INTENTS: tuple[str, ...] = (
    "scheduling",
    "insurance_pricing",
    "pre_visit_question",
    "billing_existing",
    "referral_request",
    "other",
    "spam",
)
URGENCIES: tuple[str, ...] = ("routine", "soon", "urgent")
KINDS: tuple[str, ...] = ("question", "chat")

# Probabilities per text (tuned so that the labelled set stays learnable but noisy).
_P_SPANISH = 0.06
_P_TYPO = 0.10
_P_LOWER = 0.10
_P_UPPER = 0.015
_P_SYMPTOM_IF_URGENT = 0.05
_P_NEGATED_IF_NOT_URGENT = 0.03
_P_URGENCY_CUE = {"routine": 0.45, "soon": 0.8, "urgent": 0.85}
_POOL_SEED = 20_250_301
_FILLS_PER_TEMPLATE = 40

# ---------------------------------------------------------------------------------------------------------
# Slot fillers
# ---------------------------------------------------------------------------------------------------------
_FILL: dict[str, tuple[str, ...]] = {
    "svc": (
        "a physical",
        "an annual physical",
        "a skin check",
        "a mole check",
        "an acne consult",
        "a dermatology appointment",
        "a cardiology consult",
        "a heart checkup",
        "an echocardiogram",
        "a stress test",
        "a mammogram",
        "a pap smear",
        "a well-woman exam",
        "a prenatal visit",
        "a physical therapy evaluation",
        "a PT session",
        "a sleep study",
        "a sleep consult",
        "a therapy session",
        "a counseling intake",
        "a psychiatry evaluation",
        "an ortho consult",
        "a knee evaluation",
        "a shoulder evaluation",
        "a back pain evaluation",
        "a new patient visit",
        "a follow-up visit",
        "a flu shot",
        "blood work",
        "a telehealth visit",
        "a sports physical",
        "an allergy consult",
    ),
    "line": (
        "dermatology",
        "derm",
        "cardiology",
        "cardio",
        "orthopedics",
        "ortho",
        "primary care",
        "family medicine",
        "women's health",
        "OB/GYN",
        "behavioral health",
        "mental health",
        "physical therapy",
        "PT",
        "sleep medicine",
        "the sleep center",
    ),
    "proc": (
        "an MRI",
        "a knee MRI",
        "an x-ray",
        "a sleep study",
        "a mammogram",
        "an echocardiogram",
        "a stress test",
        "a colonoscopy",
        "physical therapy",
        "a skin biopsy",
        "mole removal",
        "a new patient visit",
        "a therapy session",
        "an annual physical",
        "lab work",
        "a CPAP fitting",
        "an ultrasound",
    ),
    "ins": (
        "Aetna",
        "Blue Cross",
        "BCBS",
        "Blue Shield",
        "Cigna",
        "UnitedHealthcare",
        "UHC",
        "Humana",
        "Kaiser",
        "Medicare",
        "Medicaid",
        "Tricare",
        "Ambetter",
        "Oscar",
        "Anthem",
        "Molina",
        "an HMO plan",
        "Wellcare",
        "Health Net",
        "Amerigroup",
        "EmblemHealth",
        "Priority Health",
        "Harvard Pilgrim",
        "Geisinger",
        "Premera",
        "Regence",
        "a PPO plan",
        "my employer's plan",
        "a marketplace plan",
    ),
    "rel": (
        "my mom",
        "my dad",
        "my son",
        "my daughter",
        "my husband",
        "my wife",
        "my partner",
        "my grandmother",
    ),
    "doc": (
        "my doctor",
        "my primary care doctor",
        "my PCP",
        "my GP",
        "my cardiologist",
        "my OB",
        "the urgent care doctor",
        "my chiropractor",
        "my therapist",
        "the ER doctor",
    ),
    "cond": (
        "knee pain",
        "a rash",
        "acne",
        "eczema",
        "back pain",
        "snoring",
        "insomnia",
        "anxiety",
        "depression",
        "high blood pressure",
        "a torn ACL",
        "shoulder pain",
        "heart palpitations",
        "a sprained ankle",
        "migraines",
        "irregular periods",
        "a suspicious mole",
        "sleep apnea",
        "tendonitis",
        "hip pain",
        "a sinus infection",
        "ear pain",
        "a sore throat",
        "joint pain",
        "fatigue",
        "a cold that won't quit",
        "a wart",
        "hair loss",
        "plantar fasciitis",
        "carpal tunnel",
        "a cough",
    ),
    "line_es": (
        "dermatología",
        "cardiología",
        "ortopedia",
        "medicina familiar",
        "ginecología",
        "salud mental",
        "terapia física",
        "medicina del sueño",
    ),
    "proc_es": (
        "una resonancia",
        "una mamografía",
        "un estudio del sueño",
        "análisis de sangre",
        "una radiografía",
        "un ultrasonido",
        "la terapia física",
        "un examen físico",
    ),
    "rel_es": ("mi mamá", "mi papá", "mi hijo", "mi hija", "mi esposo", "mi esposa"),
    "amt": ("$45", "$120", "$250", "$80", "$310", "$1,200", "$60", "$95", "$400"),
    "prod": (
        "SEO services",
        "a new EHR plugin",
        "Google reviews",
        "website redesign",
        "cheap medical supplies",
        "lead lists",
        "Instagram followers",
        "crypto investment",
        "backlinks",
        "a guest post",
    ),
}

# The {day} slot depends on the urgency: far-off days for routine texts, this week for soon, today for urgent.
_DAYS: dict[str, dict[str, tuple[str, ...]]] = {
    "day": {
        "routine": (
            "next month",
            "early next month",
            "in a few weeks",
            "sometime in the spring",
            "in June",
            "in the fall",
            "after the holidays",
            "a weekend next month",
            "later this year",
            "in about six weeks",
            "any weekday next month",
        ),
        "soon": (
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "next week",
            "this Friday",
            "next Tuesday",
            "Thursday afternoon",
            "the 14th",
            "this week",
            "in the next few days",
            "by Friday",
            "tomorrow",
            "early next week",
        ),
        "urgent": (
            "today",
            "this afternoon",
            "tonight",
            "tomorrow morning",
            "first thing tomorrow",
            "right away",
            "this morning",
            "in the next hour",
            "today if possible",
            "as soon as today",
        ),
    },
    "day_es": {
        "routine": ("el próximo mes", "en unas semanas", "después de las fiestas"),
        "soon": ("la próxima semana", "el viernes", "el lunes", "esta semana", "mañana"),
        "urgent": ("hoy", "hoy mismo", "esta tarde", "mañana temprano"),
    },
}

# ---------------------------------------------------------------------------------------------------------
# Body templates: (kind, language) -> intent -> templates
# ---------------------------------------------------------------------------------------------------------
_BODIES_EN_QUESTION: dict[str, tuple[str, ...]] = {
    "scheduling": (
        "I would like to book {svc}.",
        "Can I schedule {svc} for {day}?",
        "Do you have any openings {day} for {svc}?",
        "I need to reschedule my appointment to {day}.",
        "What is the earliest available appointment in {line}?",
        "Is there availability with {line} {day}?",
        "I'd like to make an appointment for {rel}, {svc} if possible.",
        "Looking to set up {svc}, what times do you have?",
        "Are you accepting new patients in {line}? I want to book a visit.",
        "Can I get on the schedule for {proc}?",
        "Please help me cancel my visit on {day} and find a new time.",
        "I want to see someone about {cond}, when can I come in?",
        "How do I book a first appointment with {line}?",
        "Could I get an appointment {day}? It's for {cond}.",
        "Do you offer evening or weekend appointments for {svc}?",
        "Can you put me on the waitlist for {line}?",
        "Is it possible to book {svc} online or do I need to call?",
        "I'd like to schedule {rel} for {proc}.",
    ),
    "insurance_pricing": (
        "Do you accept {ins}?",
        "Are you in network with {ins}?",
        "How much does {proc} cost without insurance?",
        "What is the self-pay price for {svc}?",
        "Will {ins} cover {proc} at your clinic?",
        "I have {ins}, is {line} covered?",
        "What would my copay be for {svc} with {ins}?",
        "Do you have a cash price for {proc}?",
        "Is {proc} covered by {ins} or will I be billed separately?",
        "Can you give me an estimate for {proc}?",
        "I'm switching to {ins} next month, do you take it?",
        "Do you offer payment plans or discounts for uninsured patients?",
        "How much is a visit in {line} if I pay out of pocket?",
        "Does my deductible apply to {svc}?",
        "Is prior authorization needed from {ins} for {proc}?",
        "Do you take {ins} for {line}?",
    ),
    "pre_visit_question": (
        "Do I need to fast before {proc}?",
        "What should I bring to my first appointment for {svc}?",
        "How long does {proc} usually take?",
        "Where do I park for my visit {day}?",
        "Should I stop taking my medication before {proc}?",
        "Is there any paperwork I should fill out before {svc}?",
        "What should I wear for {svc}?",
        "Can I eat before {proc}?",
        "Can {rel} come with me to the appointment?",
        "Which entrance do I use for {line}?",
        "How early should I arrive for {proc}?",
        "Will I be able to drive after {proc}?",
        "Do I need to bring my imaging results to {svc}?",
        "Is the {line} office the same building as the lab?",
        "Should I bring my CPAP machine or old records to the visit?",
        "Can I do the intake forms online before {svc}?",
    ),
    "billing_existing": (
        "I received a bill for {amt} that I don't understand.",
        "I was charged twice for my visit, can someone check?",
        "Can I set up a payment plan for my balance of {amt}?",
        "I'm an existing patient and need a refill of my prescription.",
        "How do I get my test results from my last visit?",
        "I can't log into the patient portal.",
        "I need a copy of my medical records sent to {doc}.",
        "My insurance should have paid this {amt} statement, please resubmit the claim.",
        "I'm already a patient in {line}, can I message my provider?",
        "Why did I get a statement for {amt} when {ins} paid?",
        "I need an itemized bill for my last appointment.",
        "Please update my insurance on file to {ins}.",
        "I was a patient last year and have a question about my account.",
        "Can I pay my bill of {amt} over the phone?",
        "I need a refund for an overpayment of {amt}.",
        "Follow-up question about my lab results from {line}.",
    ),
    "referral_request": (
        "My doctor referred me to {line}.",
        "{doc} told me to get a referral to {line}, how does that work?",
        "Do I need a referral to see {line}?",
        "I'm faxing over a referral from {doc} for {proc}.",
        "I'm a physician and would like to refer a patient for {proc}.",
        "Can you send a referral for {rel} to see {line}?",
        "{doc} sent a referral for {cond}, has it been received?",
        "I have a referral for {proc}, what's the next step?",
        "Our practice wants to refer patients to your {line} team.",
        "Can my PCP send the referral electronically?",
        "I need a specialist referral for {cond}.",
        "I was referred by {doc} for {svc}.",
        "How do referring providers send orders for {proc}?",
        "Checking the status of my referral to {line}.",
    ),
    "other": (
        "Are you hiring nurses or medical assistants?",
        "I'd like to apply for the front desk job.",
        "I want to leave a compliment for the {line} staff.",
        "Do you have volunteer opportunities?",
        "I'm a student looking to shadow in {line}.",
        "I think I left my umbrella in your waiting room.",
        "Who can I talk to about a media inquiry?",
        "I want to file a complaint about the parking garage.",
        "Do you host community health events?",
        "Is your clinic open on holidays?",
        "I'm doing a school project on {line}, can I interview someone?",
        "Just wanted to say thank you to the team.",
        "Wrong number, sorry.",
        "How do I donate to your foundation?",
        "Do you have a newsletter I can sign up for?",
        "What are your hours on the holiday weekend?",
    ),
    "spam": (
        "We can rank your clinic #1 on Google with our {prod}!",
        "Boost your practice with {prod}, reply for a free quote.",
        "Congratulations! You have been selected to receive a free gift card, click here.",
        "Cheap {prod} available now, limited offer!!!",
        "Make $5000 a week from home, visit our website.",
        "Hello dear, I have a business proposal for you regarding {prod}.",
        "Your website has 37 errors, our team can fix them today for cheap.",
        "BUY {prod} NOW best prices guaranteed.",
        "Are you the owner? We offer {prod} for medical practices.",
        "Claim your prize now at our link before it expires.",
        "asdfgh test test",
        "Earn passive income with {prod}, DM me.",
        "I can get you 500 five-star reviews this month.",
        "Partner with us for {prod}, 50% off this week only.",
    ),
}

_BODIES_EN_CHAT: dict[str, tuple[str, ...]] = {
    "scheduling": (
        "can i book {svc}",
        "any appts {day}?",
        "need to reschedule to {day}",
        "hi, want to book {line}",
        "earliest opening for {line}?",
        "can I come in {day}",
        "need an appt for {cond}",
        "book me for {proc} pls",
        "cancel my appt {day}",
        "do u have anything {day}",
        "i'd like to schedule {svc}",
        "open slots in {line}?",
    ),
    "insurance_pricing": (
        "do you take {ins}",
        "{ins} accepted?",
        "how much for {proc}",
        "price for {svc}?",
        "in network w {ins}?",
        "cost without insurance?",
        "is {proc} covered by {ins}",
        "self pay rate for {line}?",
        "copay for {svc}?",
        "do u accept {ins} for {line}",
    ),
    "pre_visit_question": (
        "do i need to fast for {proc}",
        "what do i bring {day}",
        "where do i park",
        "how long is {proc}",
        "can i eat before {proc}?",
        "which door for {line}?",
        "how early should i get there",
        "can {rel} come with me",
        "do i fill out forms before?",
        "can i drive after {proc}",
    ),
    "billing_existing": (
        "question about my bill",
        "got charged twice",
        "need a refill",
        "portal wont let me log in",
        "where are my lab results",
        "can i do a payment plan for {amt}",
        "my statement says {amt}, why",
        "existing patient, need to msg my provider",
        "need my records sent to {doc}",
        "refund for {amt}?",
        "update my insurance to {ins}",
    ),
    "referral_request": (
        "my dr referred me to {line}",
        "need a referral for {line}",
        "do i need a referral",
        "referral sent from {doc}, did u get it",
        "have a referral for {proc}",
        "referral status?",
        "{doc} said to call about a referral",
        "can my pcp send the referral",
        "want a referral to {line}",
    ),
    "other": (
        "are u hiring",
        "job application question",
        "thanks to the staff!",
        "lost my keys in the lobby",
        "wrong number",
        "do you do volunteer stuff",
        "hours on the holiday?",
        "who do i talk to about a complaint",
        "shadowing opportunities?",
        "ok",
    ),
    "spam": (
        "FREE {prod} click now",
        "u won a prize!! claim now",
        "cheap {prod} dm me",
        "earn $$$ from home",
        "best {prod} for clinics",
        "check out my link",
        "STOP",
        "hey dear want {prod}",
        "500 reviews for cheap",
    ),
}


# More phrasings per intent, in the words and habits of real messages (added to the pools above).
_BODIES_EN_MORE: dict[str, tuple[str, ...]] = {
    "scheduling": (
        "Any chance someone can see me {day}? It's about {cond}.",
        "I'm trying to get in with {line} for {cond}, what's open?",
        "Need to push my appointment back, {day} would work better.",
        "Is there a cancellation list I can get on for {svc}?",
        "Hoping to get {rel} in for {svc}, we're flexible on the day.",
        "Are any of your doctors taking new patients? Looking for a new {line} provider.",
        "Can I do a video visit for {cond} instead of coming in?",
        "I got a reminder that I'm due for {proc}, can we set that up {day}?",
        "Can you fit me in {day}? I can come any time.",
        "How soon can I be seen for {cond}?",
        "Wanting to establish care with {line}, what's the first step to get an appointment?",
        "Is same-day care available for {cond}, or is it booked out?",
        "My appointment got cancelled by your office, can I rebook for {day}?",
        "We moved to the area and need a new doctor for the whole family.",
        "Please change my visit to a morning slot {day}.",
        "I'd like the first available opening for {svc}.",
        "Can I see a female provider for {svc}?",
        "Running late and may miss my slot, can I move to {day}?",
        "I need to get seen {day} for {cond}, any openings at all?",
        "Do you have Saturday hours for {svc}?",
    ),
    "insurance_pricing": (
        "Is {line} in network with {ins}, and what's the copay?",
        "What would I pay out of pocket for {proc} with a high deductible plan?",
        "Do you have a sliding scale fee for {svc}?",
        "Can I use my HSA or FSA card to pay for {proc}?",
        "I lost my insurance, how much is {svc} if I pay cash?",
        "Will you submit the claim to {ins} for me?",
        "Is there a discount if I pay for {proc} in full?",
        "Can you give me a good faith estimate for {proc}?",
        "Does {ins} need to pre-approve {proc} before I come in?",
        "What are your rates for {svc}? I don't have coverage right now.",
        "Will my plan cover {proc} or is it considered elective?",
        "Is there a fee for {svc} or is it covered as preventive care?",
        "Ballpark price for {proc}?",
        "Are there income-based discounts for patients without coverage?",
        "My coverage through {ins} starts next month, are you in network?",
        "What's the cost of {svc} with {ins} after the deductible?",
    ),
    "pre_visit_question": (
        "Is it ok to have coffee before {proc}?",
        "Is the {line} office on the ground floor? I have trouble with stairs.",
        "Do you have interpreters available for the visit?",
        "Where exactly is the {line} office, the map is confusing.",
        "Is parking free at the clinic or is there a garage?",
        "Do I need to bring a list of my medications or the bottles?",
        "Can my teenager go into {svc} without a parent?",
        "Should I skip my morning meds before {proc}?",
        "What ID and insurance card should I bring to {svc}?",
        "How do I prepare for {proc}?",
        "Can I bring my kids along to {svc}?",
        "Can I wear my jewelry during {proc}?",
        "When will the doctor go over the findings from {proc}?",
        "Is there anything I should avoid the night before {proc}?",
        "Do I have to drink water before {proc}?",
        "What floor is {line} on?",
        "Can I send my old records before {svc} so the doctor can review them?",
        "Should I wear loose clothes for {svc}?",
        "Will someone need to drive me home after {proc}?",
        "Where do I check in when I arrive for {proc}?",
    ),
    "billing_existing": (
        "My payment of {amt} isn't showing on my account.",
        "My account went to collections by mistake, please look into it.",
        "I need a superbill for my visits so I can get reimbursed.",
        "Can my provider call in a refill? I'm almost out.",
        "Are my lab results back yet? Nobody has called me.",
        "I need a work note for my visit last week.",
        "Can the doctor fill out my disability or FMLA forms?",
        "My claim was denied, can your billing office appeal it?",
        "Please switch me to paperless statements.",
        "I'm a current patient and have a question for my nurse about my medication.",
        "The pharmacy says they're still waiting on authorization from my doctor.",
        "There's a charge on my statement for a service I never received.",
        "I need my immunization records for school.",
        "Please transfer my chart to my new doctor.",
        "What's my current balance? I'd like to pay it off.",
        "I was seen last week and was supposed to get a call back about my results.",
        "My portal password reset email never arrives.",
        "What is this {amt} adjustment on my statement?",
        "I need my imaging sent to another hospital.",
        "My EOB from {ins} doesn't match the bill you sent.",
    ),
    "referral_request": (
        "Urgent care said I should be seen by {line} and faxed you their notes.",
        "{doc} is sending a referral for {cond}, what do you need from them?",
        "My referral expired, can {doc} send a new one?",
        "We're a clinic that would like to send referrals to your {line} team, what's the process?",
        "I'm a nurse practitioner and want to refer a patient with {cond}.",
        "Is a doctor's order required for {line}, or can I call directly?",
        "The referral was faxed last week and I haven't heard back.",
        "Which fax number do referrals for {line} go to?",
        "My pediatrician referred my child to {line}, how do we get started?",
        "Do you know a specialist for {cond} you could send me to?",
        "Do you need the referral before or after I book {proc}?",
        "{doc} said I should see an orthopedist, can they refer me directly?",
        "Can {doc} get a copy of the specialist's findings?",
        "I'm a case manager at the hospital and need a referral for a patient being discharged.",
        "What does a provider need to include when referring for {proc}?",
        "My insurance says I need a referral on file for {line}.",
    ),
    "other": (
        "Is there a careers page? I'm a licensed phlebotomist.",
        "Do you offer internships or clinical rotations for students?",
        "The staff at the front desk were wonderful, please pass on my thanks.",
        "Your website's online form doesn't load on my phone.",
        "Does your building have an ATM?",
        "Who owns your practice now, is it still independent?",
        "Please stop mailing me the quarterly magazine.",
        "I'd like to make a formal complaint about my experience in the waiting room.",
        "Is there a coffee shop in the building?",
        "Is there a chaplain or support group for families?",
        "I'm a reporter working on a story about local healthcare.",
        "Do you sell gift cards?",
        "Did you used to have a location by the mall?",
        "Are you closed today because of the weather?",
        "Can I charge my phone somewhere in the lobby?",
        "Sorry, sent this to the wrong place.",
        "Just browsing, no question right now.",
        "hello? is anyone there",
        "Which loading dock do deliveries use?",
        "Can our church or school partner with you on a health fair?",
        "I'd like to volunteer at the information desk.",
        "Is there a shuttle from the train station?",
        "got it, appreciate it",
        "Are you open on Memorial Day?",
    ),
    "spam": (
        "We are a leading manufacturer of {prod}, contact us on WhatsApp for a quote.",
        "Security alert: unusual sign-in detected on your bank account, confirm your details.",
        "Your car's extended coverage plan is ending, press 1 to speak to an agent.",
        "Your SSL certificate is invalid and visitors see a warning, fix it today for $49.",
        "I am a barrister with an unclaimed estate that shares your surname, reply for details.",
        "Offshore virtual assistants for your front desk at $8 an hour.",
        "Our voice AI answers your phones 24/7, book a demo.",
        "Lose weight fast with this one simple trick!",
        "Hi sweetie, long time no see, remember me?",
        "Lowest rates on life insurance, call now to get insured today!",
        "Get paid $300 a day working from home, no experience needed.",
        "Fill your calendar with our patient acquisition funnel, results or refund.",
        "Fast business loans with no credit check, funds in 24 hours.",
        "Switch your payment terminal provider and save thousands.",
        "You're our lucky visitor, spin the wheel for a free gift.",
        "Order weight loss injections online, no doctor visit needed.",
        "Buy our database of two million consumer emails for outreach.",
        "Forex trading signals, 95% win rate, join now.",
        "click here http://bit.ly/win-now",
        "zxcvbnm",
        "Boost your Instagram engagement instantly with real likes.",
        "Dear webmaster, we noticed broken links on your site and can repair them for a small fee.",
    ),
}
_BODIES_EN_CHAT_MORE: dict[str, tuple[str, ...]] = {
    "scheduling": (
        "can someone see me {day}",
        "need to move my appt",
        "any cancellations {day}?",
        "can i get in {day} for {cond}",
        "new patient, want to book",
        "is there a waitlist",
        "video visit possible?",
        "first available for {line} pls",
        "can u squeeze me in {day}",
    ),
    "insurance_pricing": (
        "r u in network w {ins}",
        "cash price?",
        "how much w/o insurance",
        "does {ins} cover it",
        "hsa card ok?",
        "sliding scale?",
        "what does it cost",
        "do yall take {ins}",
    ),
    "pre_visit_question": (
        "what floor is {line}",
        "is there parking",
        "coffee ok before {proc}?",
        "where do i check in",
        "need to bring anything?",
        "is the building open early",
        "can i bring my kid",
        "do i need an id",
    ),
    "billing_existing": (
        "refill pls",
        "are my results in",
        "bill is wrong",
        "why do i owe {amt}",
        "need a work note",
        "paid already, why past due",
        "current patient, question for my nurse",
        "need my records",
        "portal reset not working",
    ),
    "referral_request": (
        "er gave me a referral for {line}",
        "referral faxed, got it?",
        "is self referral ok",
        "who handles referrals",
        "referral expired",
        "got referred by {doc}",
        "need a referal",
    ),
    "other": (
        "hiring?",
        "where do i send my resume",
        "thanks so much!",
        "sorry wrong chat",
        "just browsing",
        "test",
        "closed today?",
        "unsubscribe",
        "is there a vending machine",
        "ok bye",
    ),
    "spam": (
        "click here",
        "claim ur gift card now",
        "hi dear",
        "warranty expiring act now",
        "account locked verify now",
        "$$$ work from home",
        "crypto guaranteed returns",
        "qwerty",
    ),
}

_BODIES_ES: dict[str, tuple[str, ...]] = {
    "scheduling": (
        "Quisiera hacer una cita para {line_es}.",
        "¿Tienen citas disponibles {day_es}?",
        "Necesito cambiar mi cita, por favor.",
        "Quiero agendar una cita para {rel_es} {day_es}.",
        "hola, quiero una cita",
    ),
    "insurance_pricing": (
        "¿Aceptan {ins}?",
        "¿Cuánto cuesta {proc_es} sin seguro?",
        "¿Cuál es el precio de la consulta?",
        "no tengo seguro, cuanto cuesta la consulta",
    ),
    "pre_visit_question": (
        "¿Tengo que estar en ayunas para {proc_es}?",
        "¿Qué debo llevar a mi primera cita?",
        "¿Dónde me estaciono?",
        "¿Cuánto dura {proc_es}?",
    ),
    "billing_existing": (
        "Tengo una pregunta sobre mi factura de {amt}.",
        "Ya soy paciente y necesito una receta.",
        "Me cobraron dos veces.",
        "¿Dónde veo mis resultados?",
    ),
    "referral_request": (
        "Mi doctor me mandó con ustedes para {line_es}.",
        "¿Necesito una referencia para {line_es}?",
        "Tengo una referencia de mi médico.",
        "mi doctor mando la referencia, la recibieron?",
    ),
    "other": (
        "¿Están contratando?",
        "Gracias a todo el personal.",
        "Número equivocado.",
        "¿Cuál es su horario en días festivos?",
    ),
    "spam": (
        "Gane dinero desde casa, haga clic aquí.",
        "Felicidades, usted ganó un premio.",
        "Ofrecemos {prod} baratos para su clínica.",
    ),
}

# ---------------------------------------------------------------------------------------------------------
# Urgency cues, greetings, closings: (kind, language) -> pools
# ---------------------------------------------------------------------------------------------------------
_URGENCY_EN_QUESTION: dict[str, tuple[str, ...]] = {
    "routine": (
        "No rush.",
        "Whenever is convenient.",
        "Sometime next month is fine.",
        "I'm flexible on timing.",
        "Just planning ahead.",
        "Not urgent.",
        "Anytime in the next couple of months works.",
        "No hurry at all.",
        "Thinking about it for later this year.",
        "Just gathering information for now.",
        "Whenever someone gets a chance.",
        "For sometime down the road.",
    ),
    "soon": (
        "Ideally this week.",
        "Within the next few days if possible.",
        "Sooner rather than later.",
        "Hoping for something in the next week.",
        "Before the end of the week would be great.",
        "It's been bothering me for a few days.",
        "Early next week at the latest.",
        "I'd like to get this sorted out in the next several days.",
        "My appointment is in a couple of days.",
        "Need this sorted before Friday.",
        "This has been going on for a few days now.",
        "Tomorrow if you can.",
        "Hoping to hear back this week.",
    ),
    "urgent": (
        "ASAP please!",
        "I need this today.",
        "This is urgent.",
        "As soon as possible please.",
        "Can someone call me right away?",
        "It's getting worse fast.",
        "I need to be seen today if at all possible.",
        "URGENT - please respond today.",
        "It can't wait, please help.",
        "Same-day please, it's an emergency.",
        "My appointment is in an hour.",
        "I'm in a lot of pain.",
        "Need an answer before the end of the day.",
        "Please call back right away.",
        "It's spreading quickly.",
        "I ran out this morning.",
    ),
}
_URGENCY_EN_CHAT: dict[str, tuple[str, ...]] = {
    "routine": (
        "no rush",
        "whenever",
        "not urgent",
        "sometime next month",
        "no hurry",
        "just planning ahead",
    ),
    "soon": (
        "this week?",
        "in the next few days",
        "soon pls",
        "this wk if possible",
        "by friday?",
        "next few days",
    ),
    "urgent": (
        "asap",
        "today pls",
        "URGENT",
        "need it today",
        "emergency!!",
        "right now pls",
        "call me asap",
    ),
}
_URGENCY_ES: dict[str, tuple[str, ...]] = {
    "routine": ("No hay prisa.", "Cuando puedan.", "El próximo mes está bien."),
    "soon": ("Esta semana si es posible.", "En los próximos días.", "Lo más pronto esta semana."),
    "urgent": ("Es urgente.", "Lo antes posible por favor.", "Necesito atención hoy mismo.", "¡Urgente!"),
}

_GREETINGS: dict[tuple[str, str], tuple[str, ...]] = {
    ("question", "en"): (
        "",
        "",
        "",
        "Hi,",
        "Hello,",
        "Hi there,",
        "Good morning,",
        "Hello!",
        "To whom it may concern,",
        "Quick question:",
        "Hey,",
        "Good afternoon.",
    ),
    ("chat", "en"): ("", "", "", "hi", "hey", "hello", "hi there", "Hi!", "yo", "good morning"),
    ("question", "es"): ("", "Hola,", "Buenos días,", "Buenas tardes,"),
    ("chat", "es"): ("", "hola", "buenas"),
}
_CLOSINGS: dict[tuple[str, str], tuple[str, ...]] = {
    ("question", "en"): (
        "",
        "",
        "",
        "Thanks!",
        "Thank you.",
        "Thanks in advance.",
        "Appreciate it.",
        "Please call me back.",
        "Please email me.",
        "Thank you for your help.",
        "Best regards.",
    ),
    ("chat", "en"): ("", "", "", "thx", "ty", "thanks", "?", "pls", "thank u"),
    ("question", "es"): ("", "Gracias.", "Muchas gracias.", "Saludos."),
    ("chat", "es"): ("", "gracias", "grax"),
}

# Clauses that describe urgent clinical symptoms (only for urgent texts) and clauses that mention a
# symptom only to deny it or to place it in the past (for routine / soon texts).
_SYMPTOMS: dict[str, tuple[str, ...]] = {
    "question": (
        "I've had crushing chest pain since this morning.",
        "I've been having thoughts of hurting myself.",
        "{rel}'s face is drooping and the speech is slurred.",
        "I can't breathe properly right now.",
        "I took too many of my pills on purpose.",
        "The bleeding won't stop.",
        "I have chest pressure spreading to my left arm.",
        "I keep having thoughts of ending my life.",
        "I think I'm having a heart attack.",
        "{rel} suddenly can't move one arm and is confused.",
        "I'm pregnant and bleeding heavily.",
        "{rel} passed out and is hard to wake up.",
        "My throat is swelling shut after a bee sting.",
        "I have the worst headache of my life, it came on suddenly.",
    ),
    "chat": (
        "bad chest pain rn",
        "cant breathe",
        "having thoughts of killing myself",
        "took a bunch of pills",
        "bleeding wont stop",
        "think im having a stroke",
        "chest feels crushed",
        "want to end my life",
    ),
}
_NEGATED: dict[str, tuple[str, ...]] = {
    "question": (
        "No chest pain, just a checkup.",
        "I'm not suicidal, I just want to talk to someone.",
        "No trouble breathing, just a lingering cough.",
        "The chest pain I had last year is gone.",
        "I don't have any chest pain, I just want my heart checked.",
        "Not having any bleeding now, this is just a follow-up.",
        "My last checkup showed no chest pain issues, this is just routine.",
        "No shortness of breath or chest pain, only mild fatigue.",
        "I had a stroke years ago and want a routine follow-up.",
        "Without any chest pain, just palpitations once in a while.",
    ),
    "chat": (
        "no chest pain, just a checkup",
        "not suicidal, just need therapy",
        "no trouble breathing, just a cough",
        "chest pain from last year is gone",
    ),
}

_KEYBOARD_NEIGHBOURS = {
    "a": "qsz",
    "b": "vn",
    "c": "xv",
    "d": "sf",
    "e": "wr",
    "f": "dg",
    "g": "fh",
    "h": "gj",
    "i": "uo",
    "j": "hk",
    "k": "jl",
    "l": "k",
    "m": "n",
    "n": "bm",
    "o": "ip",
    "p": "o",
    "q": "w",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "u": "yi",
    "v": "cb",
    "w": "qe",
    "x": "zc",
    "y": "tu",
    "z": "x",
}


class _Pool:
    """A flat array of rendered strings with per-group offsets and sizes."""

    def __init__(self, groups: Sequence[Sequence[str]]) -> None:
        flat: list[str] = []
        offsets: list[int] = []
        sizes: list[int] = []
        for group in groups:
            offsets.append(len(flat))
            sizes.append(len(group))
            flat.extend(group)
        self.items: npt.NDArray[np.object_] = np.array(flat, dtype=object)
        self.offsets = np.array(offsets, dtype=np.int64)
        self.sizes = np.array(sizes, dtype=np.int64)

    def draw(self, group: npt.NDArray[np.int64], rng: np.random.Generator) -> npt.NDArray[np.object_]:
        """One item per row, uniformly within the row's group."""
        within = (rng.random(group.shape[0]) * self.sizes[group]).astype(np.int64)
        drawn: npt.NDArray[np.object_] = self.items[self.offsets[group] + within]
        return drawn


def _render(templates: Sequence[str], rng: np.random.Generator, urgency: str = "routine") -> list[str]:
    """Fill each template's slots a number of times; duplicates are removed, order kept."""
    fill = {**_FILL, **{name: days[urgency] for name, days in _DAYS.items()}}
    seen: dict[str, None] = {}
    for template in templates:
        slots = [name for name in fill if "{" + name + "}" in template]
        n_fills = 1 if not slots else _FILLS_PER_TEMPLATE
        for _ in range(n_fills):
            values = {name: fill[name][int(rng.integers(len(fill[name])))] for name in slots}
            text = template.format(**values)
            seen[text[0].upper() + text[1:] if template[0] == "{" else text] = None
    return list(seen)


class _Pools:
    """All rendered pools.

    Body group index = (language * n_intents + intent) * n_urgencies + urgency; urgency-cue group index =
    language * n_urgencies + urgency; greetings and closings by language.
    """

    def __init__(self) -> None:
        rng = np.random.default_rng(_POOL_SEED)
        self.body: dict[str, _Pool] = {}
        self.urgency: dict[str, _Pool] = {}
        self.greeting: dict[str, _Pool] = {}
        self.closing: dict[str, _Pool] = {}
        self.symptom: dict[str, _Pool] = {}
        self.negated: dict[str, _Pool] = {}
        for kind in KINDS:
            if kind == "question":
                english = {i: _BODIES_EN_QUESTION[i] + _BODIES_EN_MORE[i] for i in INTENTS}
            else:
                english = {i: _BODIES_EN_CHAT[i] + _BODIES_EN_CHAT_MORE[i] for i in INTENTS}
            urgency_en = _URGENCY_EN_QUESTION if kind == "question" else _URGENCY_EN_CHAT
            body_groups = [_render(english[i], rng, u) for i in INTENTS for u in URGENCIES]
            body_groups += [_render(_BODIES_ES[i], rng, u) for i in INTENTS for u in URGENCIES]
            self.body[kind] = _Pool(body_groups)
            self.urgency[kind] = _Pool(
                [urgency_en[u] for u in URGENCIES] + [_URGENCY_ES[u] for u in URGENCIES]
            )
            self.greeting[kind] = _Pool([_GREETINGS[(kind, "en")], _GREETINGS[(kind, "es")]])
            self.closing[kind] = _Pool([_CLOSINGS[(kind, "en")], _CLOSINGS[(kind, "es")]])
            self.symptom[kind] = _Pool([_render(_SYMPTOMS[kind], rng)])
            self.negated[kind] = _Pool([_render(_NEGATED[kind], rng)])


@lru_cache(maxsize=1)
def _pools() -> _Pools:
    return _Pools()


def _codes(values: Sequence[str], allowed: tuple[str, ...], field: str) -> npt.NDArray[np.int64]:
    lookup = {name: code for code, name in enumerate(allowed)}
    try:
        return np.fromiter((lookup[v] for v in values), dtype=np.int64, count=len(values))
    except KeyError as exc:
        raise InputError(
            f"generate_texts: unknown {field} {exc.args[0]!r}; use one of {', '.join(allowed)}."
        ) from None


def _typo(text: str, position: float, operation: int, letter: float) -> str:
    """One keyboard-style typo: swap, drop, double or replace a letter (never the first one)."""
    if len(text) < 4:
        return text
    i = 1 + int(position * (len(text) - 2))
    char = text[i]
    if operation == 0:
        return text[:i] + text[i + 1] + char + text[i + 2 :]
    if operation == 1:
        return text[:i] + text[i + 1 :]
    if operation == 2:
        return text[:i] + char + text[i:]
    neighbours = _KEYBOARD_NEIGHBOURS.get(char.lower())
    if not neighbours:
        return text
    return text[:i] + neighbours[int(letter * len(neighbours))] + text[i + 1 :]


def generate_labelled(
    intents: Sequence[str],
    urgencies: Sequence[str],
    rng: np.random.Generator,
    *,
    kind: str = "question",
) -> tuple[list[str], npt.NDArray[np.bool_]]:
    """Generate texts and say which ones describe urgent clinical symptoms.

    Parameters
    ----------
    intents, urgencies
        One intent (from ``INTENTS``) and one urgency (from ``URGENCIES``) per text, same length.
    rng
        The random generator; the same generator state gives the same texts.
    kind
        ``"question"`` (web form question, 1-3 sentences) or ``"chat"`` (short chat / SMS message).

    Returns
    -------
    texts, clinical_urgent
        The texts, and a boolean array that is true where an urgent clinical symptom was written in
        (only ever for urgent texts; negated or past symptoms do not count).
    """
    if kind not in KINDS:
        raise InputError(f"generate_texts: kind must be one of {', '.join(KINDS)}, got {kind!r}.")
    if len(intents) != len(urgencies):
        raise InputError(
            f"generate_texts: intents ({len(intents)}) and urgencies ({len(urgencies)}) differ in length."
        )
    n = len(intents)
    intent = _codes(intents, INTENTS, "intent")
    urgency = _codes(urgencies, URGENCIES, "urgency")
    pools = _pools()

    spanish = (rng.random(n) < _P_SPANISH).astype(np.int64)
    body = pools.body[kind].draw((spanish * len(INTENTS) + intent) * len(URGENCIES) + urgency, rng)
    cue_p = np.array([_P_URGENCY_CUE[u] for u in URGENCIES])[urgency]
    with_cue = rng.random(n) < cue_p
    cue = pools.urgency[kind].draw(spanish * len(URGENCIES) + urgency, rng)
    greeting = pools.greeting[kind].draw(spanish, rng)
    closing = pools.closing[kind].draw(spanish, rng)
    cue_first = rng.random(n) < 0.3

    is_urgent = urgency == URGENCIES.index("urgent")
    not_spam = intent != INTENTS.index("spam")
    english = spanish == 0
    u = rng.random(n)
    clinical = is_urgent & not_spam & english & (u < _P_SYMPTOM_IF_URGENT)
    negated = ~is_urgent & not_spam & english & (u < _P_NEGATED_IF_NOT_URGENT)
    zero = np.zeros(n, dtype=np.int64)
    symptom = pools.symptom[kind].draw(zero, rng)
    denial = pools.negated[kind].draw(zero, rng)

    texts: list[str] = []
    for g, b, c, cl, wc, cf, sy, de, cli, neg in zip(
        greeting, body, cue, closing, with_cue, cue_first, symptom, denial, clinical, negated, strict=True
    ):
        extra = sy if cli else (de if neg else "")
        cue_text = c if wc else ""
        parts = (g, extra, cue_text, b, cl) if cf else (g, b, extra, cue_text, cl)
        texts.append(" ".join(p for p in parts if p))

    noisy = np.flatnonzero(rng.random(n) < _P_TYPO)
    params = rng.random((noisy.shape[0], 3))
    operations = rng.integers(0, 4, noisy.shape[0])
    for row, (position, letter, second), operation in zip(noisy, params, operations, strict=True):
        text = _typo(texts[row], position, int(operation), letter)
        texts[row] = _typo(text, second, int(operation + 1) % 4, letter) if second < 0.3 else text

    casing = rng.random(n)
    for row in np.flatnonzero(casing < _P_LOWER + _P_UPPER):
        texts[row] = texts[row].upper() if casing[row] < _P_UPPER else texts[row].lower()
    return texts, clinical


def generate_texts(
    intents: Sequence[str],
    urgencies: Sequence[str],
    rng: np.random.Generator,
    *,
    kind: str = "question",
) -> list[str]:
    """Generate one free-text message per (intent, urgency) pair.

    Parameters
    ----------
    intents
        One of ``INTENTS`` per text.
    urgencies
        One of ``URGENCIES`` per text (same length as ``intents``).
    rng
        The random generator; the same generator state gives the same texts.
    kind
        ``"question"`` for a web form question (1-3 sentences) or ``"chat"`` for a short chat / SMS message.

    Returns
    -------
    list of str
        The texts, without identifiers. About 10% carry typos, some are all lower or upper case, about 6%
        are in Spanish, a few urgent ones describe urgent clinical symptoms and a few non-urgent ones
        mention a symptom only to deny it.

    Examples
    --------
    >>> import numpy as np
    >>> texts = generate_texts(["scheduling", "spam"], ["urgent", "routine"], np.random.default_rng(0))
    >>> len(texts)
    2
    """
    texts, _ = generate_labelled(intents, urgencies, rng, kind=kind)
    return texts


# Urgency mix per intent: (routine, soon, urgent).
_URGENCY_MIX: dict[str, tuple[float, float, float]] = {
    "scheduling": (0.45, 0.35, 0.20),
    "insurance_pricing": (0.6, 0.3, 0.1),
    "pre_visit_question": (0.5, 0.35, 0.15),
    "billing_existing": (0.5, 0.3, 0.2),
    "referral_request": (0.45, 0.35, 0.2),
    "other": (0.7, 0.2, 0.1),
    "spam": (0.7, 0.1, 0.2),
}


def make_labelled_texts(n: int, seed: int, *, chat_share: float = 0.4) -> pd.DataFrame:
    """A labelled training set of simulator texts.

    Parameters
    ----------
    n
        Number of texts.
    seed
        Seed of the random generator; the same seed gives the same frame.
    chat_share
        Share of chat / SMS messages (the rest are web form questions).

    Returns
    -------
    pandas.DataFrame
        Columns ``text``, ``intent``, ``urgency`` (strings) and ``clinical_urgent`` (bool: the text
        describes urgent clinical symptoms).

    Examples
    --------
    >>> frame = make_labelled_texts(50, seed=1)
    >>> list(frame.columns)
    ['text', 'intent', 'urgency', 'clinical_urgent']
    """
    if n < 0:
        raise InputError(f"make_labelled_texts: n must be >= 0, got {n}.")
    rng = np.random.default_rng(seed)
    intent = rng.integers(0, len(INTENTS), n)
    mix = np.array([_URGENCY_MIX[i] for i in INTENTS])
    cumulative = mix.cumsum(axis=1)[intent]
    urgency = (rng.random(n)[:, None] > cumulative).sum(axis=1).clip(0, len(URGENCIES) - 1)
    chat = rng.random(n) < chat_share
    intents = np.array(INTENTS, dtype=object)[intent]
    urgencies = np.array(URGENCIES, dtype=object)[urgency]
    texts = np.empty(n, dtype=object)
    clinical = np.zeros(n, dtype=bool)
    for kind, mask in (("question", ~chat), ("chat", chat)):
        rows = np.flatnonzero(mask)
        part, flags = generate_labelled(list(intents[rows]), list(urgencies[rows]), rng, kind=kind)
        texts[rows] = part
        clinical[rows] = flags
    return pd.DataFrame(
        {
            "text": texts.tolist(),
            "intent": intents,
            "urgency": urgencies,
            "clinical_urgent": clinical,
        }
    )
