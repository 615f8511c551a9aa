"""The clinical-triage vocabularies, as data: word classes, non-clinical senses, negation and time words.

Every list the triage rules read lives here, and nothing else does. A word class is a concept or a cue
(``CHEST``, ``PAIN``, ``QUALITY``, ``INABILITY``, ...): a set of entries, each a word or a phrase of words
over normalised tokens (lower case, no accents or apostrophes, letter runs collapsed, small typos
corrected; see :mod:`._normalise`). An entry word ending in ``*`` matches every token that starts with
it. Inflections and common misspellings are written out; the typo correction covers the rest. The rules
that combine the classes into concepts are in :mod:`._concepts`.

Spanish entries stand beside the English ones in the same classes, so each rule reads both languages.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "CLAUSE_WORDS",
    "COMMON_WORDS",
    "CONTRACTION_PHRASES",
    "CUE_CLASSES",
    "CURRENT",
    "EPISTEMIC",
    "HISTORY",
    "HYPOTHETICAL",
    "NEVER_COMPARISONS",
    "POST_NEGATIONS",
    "PRE_NEGATIONS",
    "PRE_NEGATION_PHRASES",
    "PSEUDO_HYPOTHETICALS",
    "PSEUDO_NEGATIONS",
    "RESOLUTION_FOLLOWERS",
    "RETURNED",
    "SENSES",
    "SUBJECTS",
    "UNABLE",
    "WORD_CLASSES",
]

_SELF = ("myself", "himself", "herself", "themselves", "themself", "yourself", "ourselves")
_PEOPLE = ("my", "his", "her", "their", "the", "our", "your")

_CLASSES: dict[str, str] = {
    "CHEST": ("chest|sternum|breastbone|ribcage|rib cage|pecho|torax|ribs"),
    "HEART": "heart|corazon|ticker",
    "HEART_ATTACK": (
        "heart attack|heart attacks|heartattack|cardiac arrest|cardiac event|infarto|ataque al corazon|"
        "ataque cardiaco"
    ),
    "LUNG": "lung|lungs|pulmones|pulmon",
    "BREATH": "breathe|breath|breathing|breathes|breaths|air|oxygen|respirar|respiro|respiracion|aire",
    "RADIATE_TO": (
        "arm|arms|jaw|shoulder|shoulders|shoulder blade|back|neck|brazo|brazos|mandibula|espalda|cuello"
    ),
    "FACE": "face|mouth|smile|eyelid|cara|boca",
    "AIRWAY": "throat|tongue|airway|windpipe|garganta|lengua|airways|tounge|throat is closing",
    "LIPS": "lips|lip|labios",
    "LIMB": "arm|arms|leg|legs|hand|foot|brazo|pierna",
    "SPEECH": "speech|speaking|talking|words|talk|speak|hablar|habla",
    "ABDOMEN": "stomach|stomache|belly|abdomen|abdominal|tummy|estomago|barriga|vientre",
    "HEAD": "head|cabeza",
    "TESTICLE": (
        "testicle|testicles|testicular|scrotum|balls|one ball|my ball|his ball|testicle is|one testicle"
    ),
    "CANT_SEE": "sees spots|seeing spots|see spots|spots in her vision|spots in my vision|flashing lights|"
    "seeing stars|sees stars|"
    "cant see|no veo|cant focus|blurry|blurred|dark spots",
    "EYE": "eye|eyes|ojo|ojos",
    "PAIN": (
        "painfull|pane|"
        "pain|pains|pian|painful|hurt|hurts|hurting|ache|aches|aching|achy|sore|discomfort|agony|"
        "killing me|dolor|duele|dolores"
    ),
    "QUALITY": (
        "crushing|crushed|crush|crushes|squeezing|squeeze|squeezed|squeezes|pressure|pressing|presses|"
        "pressed|heavy|heaviness|weight|tight|tightness|tightening|tightens|clenching|clenched|gripping|"
        "grip|vice|vise|elephant|constricting|constricted|explode|exploding|explodes|burst|bursting|"
        "stabbing|sitting on|standing on|opresion|apretado|aplastado|sharp|grabbed|grabbing|clutching|"
        "clutched|holding|hand on|caving in|caving|collapsing"
    ),
    "BURNING": "burning|burns|burn|on fire|ardor|quemazon",
    "RADIATE": (
        "spreading|spreads|spread|radiating|radiates|radiate|radiated|shooting|shoots|travels|traveling|"
        "travelling|going down|goes down|went down|going into|goes into|going up|moving to|moving into|"
        "moves to|down my|down his|down her|into my|into his|into her|up my|up to my|through to my|baja|"
        "se extiende|se corre"
    ),
    "SEVERITY": (
        "severe|severely|terrible|terribly|unbearable|excruciating|extreme|extremely|intense|agonizing|"
        "agonising|awful|horrible|horrendous|so bad|really bad|very bad|super bad|so much|so hard|"
        "like crazy|insane|killing me|cant stand|cant take|out of control|10 out of 10|10 10|worst|fuerte|"
        "muy fuerte|horrible|insoportable"
    ),
    "WORST": (
        "worse than anything|worse than any|"
        "worst|never felt|never had|like never before|of my life|thunderclap|explode|exploding|el peor|"
        "worse than ever|than ever"
    ),
    "ONSET": (
        "minutes ago|an hour ago|half an hour ago|few minutes ago|started an hour ago|out of the blue|"
        "sudden|suddenly|all of a sudden|out of nowhere|out of the blue|just now|just started|came on|"
        "abrupt|abruptly|de repente|de golpe|in seconds|within seconds|hit in seconds"
    ),
    "WORSE": (
        "still going|keeps going|getting worse|wont go down|"
        "worse|worsening|wont stop|doesnt stop|not stopping|cant stop|not going away|wont go away|"
        "for hours|keeps coming|empeora|peor|harder and harder|getting harder"
    ),
    "DISTRESS": (
        "im scared|im frightened|please hurry|"
        "scared|terrified|frightened|panicking|emergency|911|ambulance|paramedics|dying|going to die|"
        "gonna die|help me|please help|help please|urgente|emergencia|ayuda"
    ),
    "INABILITY": (
        "cant|unable|hardly|barely|struggling|struggle|struggles|trouble|difficulty|difficult|hard to|"
        "hard time|not getting|no air|impossible|not enough|fighting for|fighting to|labored|laboured|"
        "no puedo|no puede|cuesta|dificultad|hard work|fight for|fight to|harder|harder to|cant get"
    ),
    "BREATH_URGENT": (
        "short of breath|shortness of breath|gasping|gasp|gasps|choking|choked|stopped breathing|"
        "not breathing|isnt breathing|wasnt breathing|turning blue|turned blue|going blue|lips are blue|"
        "lips blue|blue lips|lips turning blue|suffocating|suffocate|smothering|me falta el aire|me ahogo|"
        "ahogando|me asfixio|cant finish a sentence|cant finish sentences|cant talk in full sentences|"
        "no air|cant lie flat|inhaler isnt working|inhaler not working|inhaler isnt helping|"
        "inhaler not helping|inhaler doesnt help|inhaler doesnt work"
    ),
    "BREATH_MILD": (
        "wheezing|wheeze|wheezy|breathless|winded|out of breath|puffed|noisy breathing|breathing noisy|"
        "breathing is noisy|rattly breathing"
    ),
    "DIZZY": (
        "dizzy|dizziness|lightheaded|light headed|faint|woozy|room spinning|clammy|cold sweat|mareado|mareo"
    ),
    "RACING": (
        "racing|pounding|fluttering|skipping|skipping beats|beating fast|beating so fast|out of my chest|"
        "irregular|palpitations|palpitating|palpitaciones|hammering|thumping|banging|"
        "going like the clappers"
    ),
    "FAINT_URGENT": (
        "stopped responding|not responding|barely rouse|cant rouse|hard to rouse|hard to wake up|"
        "wont wake up|cant wake up|unrousable|went down and shook|go down and shake|wont come round|"
        "not coming round|lost conciousness|passed out cold|blacked out again|passed out|pass out|"
        "passing out|passes out|fainted|fainting|faints|blacked out|blacking out|black out|collapsed|"
        "collapse|collapses|unconscious|unresponsive|not responding|wont respond|not waking|wont wake|"
        "cant wake|hard to wake|keeled over|went limp|lost consciousness|knocked out|se desmayo|desmayo|"
        "desmayado|inconsciente|no responde|no despierta|cant keep him awake|cant keep her awake|"
        "cant keep them awake|cant keep him conscious|was out for|out cold|hit the floor"
    ),
    "SEIZURE": (
        "having fits|fits started|fit started|seizure started|convulsed|jerking all over|twitching all over|"
        "shaking all over and not|"
        "seizure|seizures|seizing|convulsing|convulsion|convulsions|having a fit|had a fit|"
        "shaking uncontrollably|eyes rolled back|eyes rolling back|convulsiones|convulsionando"
    ),
    "DROOP": (
        "drooping|droopy|droops|drooped|droop|sagging|saggy|lopsided|crooked|uneven|falling|paralyzed|"
        "paralysed|frozen|numb|torcida|caida|torcio|torcido|chueca|chueco|hanging down|hanging|slumped|"
        "dribbles|dribbling|drooling|wont move"
    ),
    "SLUR": (
        "words are confused|confused words|words jumbled|find his words|find her words|find my words|"
        "find the words|saying the wrong thing|saying the wrong words|words came out wrong|wrong words|"
        "words are wrong|words out|get her words out|get his words out|get my words out|cant find words|"
        "cant find the words|mixing up words|words mixed up|calling things the wrong|cant speak properly|"
        "slurred|slurring|slurry|slurs|slur|garbled|jumbled|gibberish|mumbling|not making sense|no sense|"
        "arrastra|talking nonsense|speaking nonsense|came out as nonsense|coming out as nonsense|"
        "words are nonsense|words are muddled|words muddled|speech muddled|muddled speech|muddling words|"
        "muddling her words|muddling his words"
    ),
    "MANNER": "properly|clearly|normally|right|straight|bien",
    "WEAK_NUMB": (
        "tingled|tingles|cant raise|cant lift|cant hold up|clumsy|wouldnt work|floppy|flopped|heavy and|"
        "dropping things|cant grip|cant hold|numb|numbness|weak|weakness|tingling|tingly|pins and needles|"
        "paralyzed|paralysed|paralysis|dead|cant feel|cant move|cant lift|gave out|dormido|dormida|debil"
    ),
    "ONE_SIDE": (
        "one side|left side|right side|half of|half my|half his|half her|one arm|one leg|one hand|"
        "one half|un lado|one sided|left sided|right sided"
    ),
    "CONFUSION": (
        "not understanding|looks blank|staring blankly|blank stare|nobody home|not making much sense|"
        "not making sense|cant think straight|not himself|not herself|acting strange|acting strangely|"
        "acting weird|acting odd|doesnt know her name|doesnt know his name|doesnt know who|"
        "doesnt recognise|didnt know her name|didnt know his name|talking rubbish|drifts off|drifting off|"
        "confused|confusion|disoriented|doesnt know where|doesnt recognize|dont know where i am|incoherent|"
        "out of it|delirious|talking nonsense|confundido|confundida|cant focus|acting drunk|seems drunk|"
        "like hes drunk|like shes drunk|stopped making sense|leaning to one side"
    ),
    "VISION_LOSS": (
        "see double|seeing double|seeing two of everything|vision black|vision went black|"
        "vision blacked out|lost the sight|cant see out of|lost vision|lost my vision|lost sight|"
        "lost his vision|lost her vision|went blind|gone blind|going blind|double vision|vision went|"
        "vision is gone|blind in one eye|curtain over|no veo|vision went dark|eye went black|eye went dark|"
        "went black in|everything went black|everything went dark|went dark in|everything goes dark|"
        "everything goes black|goes dark|goes black"
    ),
    "STROKE": "stroke|stroking|strokes|mini stroke|derrame|ictus|embolia",
    "STROKE_NOW": "having a|having|is having|showing signs|think|thinks",
    "BLEED": (
        "blood loss|bleading|bleedin|"
        "bleeding|bleed|bleeds|bled|blood|bloody|hemorrhage|hemorrhaging|haemorrhage|sangrado|sangrando|"
        "sangre|sangrar|sangra|nosebleed|nosebleeds|nose bleed|bleeding out"
    ),
    "BLEED_HEAVY": (
        "thru|coming through|keeps running|running down|pouring down|dripping|for ages|pressed it|"
        "pressing on it|pressure on it|still bleeding|still coming|hasnt stopped|havent stopped|not stopped|"
        "soaked through|through the bandage|through the dressing|dressings|towels|towel|"
        "wont stop|doesnt stop|not stopping|cant stop|a lot|lots of|so much|everywhere|soaking|soaked|"
        "pouring|gushing|spurting|squirting|heavily|heavy|profusely|clots|pad an hour|every hour|through|"
        "mucho|abundante|no para|no deja|keeps going|keeps bleeding|filling my mouth|wont clot|"
        "not clotting"
    ),
    "EXPEL": (
        "vomiting|vomit|vomited|vomits|throwing up|threw up|throw up|puking|puked|coughing up|coughing|"
        "coughed up|spitting|spit up|vomitando|tosiendo"
    ),
    "HEMORRHAGE": "hemorrhage|hemorrhaging|haemorrhage|hemorragia",
    "SWELL": (
        "swelling up|swelled up|puffed up|ballooning|swelling|swollen|swelled|swell|swells|closing|"
        "closing up|closed up|puffy|puffing up|blowing up|tight|hinchado|hinchada|hinchazon|cerrando|"
        "too big|feels big|feels huge|feels thick"
    ),
    "ALLERGY": (
        "sting|stings|hornet|wasp|bee|nut|nuts|shellfish|prawns|sesame|penicillin|epipen|allergic|allergy|"
        "reaction|hives|peanut|peanuts|bee sting|stung|alergia|alergica|alergico|cashews|cashew|egg|"
        "almonds|walnuts|pistachios|kiwi|first time"
    ),
    "ANAPHYLAXIS": "anaphylaxis|anaphylactic|epipen|epi pen|anafilaxia",
    "SELF": "myself|himself|herself|themselves|themself|yourself|ourselves",
    "HARM_VERB": "kill|killing|hurt|hurting|harm|harming|cut|cutting|hang|hanging|shoot|shooting|drown|end",
    "KILL": "kill|killing|hang|hanging|shoot|drown",
    "ACCIDENT": (
        "lifting|gym|playing|shaving|cooking|chopping|working out|workout|exercising|running|fell|tripped|"
        "slipped|by accident|accidentally|at work|skiing|training|sports|hiking|moving furniture|"
        "in the kitchen"
    ),
    "SUICIDAL": (
        "everyone would be better off|would all be better off|be better off without me|disappear for good|"
        "disappeared for good|gone for good|no longer wish to live|no longer want to live|"
        "dont wish to live|do not wish to live|wish i wasnt alive|wish i wasnt here|had enough of living|"
        "had enough of life|tired of living|sick of living|done living|tired of being alive|not wake up|"
        "and not wake up|never wake up again|sleep forever|do something stupid|finish it|finish it all|"
        "finish myself|off myself|end myself|kill me|take the pills|suicide note|goodbye note|"
        "goodbye letter|goodbye letters|cutting again|cut again|started cutting|been cutting|self harming|"
        "selfharming|harming myself|standing on the bridge|standing on a bridge|on the edge of the|"
        "on a ledge|on the ledge|on the roof|with the car running|with the engine running|car running in|"
        "exhaust pipe|hosepipe|dont want to exist|dont want to be around|not be around anymore|"
        "stop existing|not exist|cease to exist|want to disappear|wanna disappear|decided to end|"
        "end things|ending things|end it|ending it|using it on myself|use it on myself|thought about how|"
        "thinking about how|how many pills it would|how many tablets it would|researching how|"
        "how much it would take|suicid*|suicidal|suicide|unalive|unaliving|kms|end it all|ending it all|"
        "end my life|ending my life|end his life|end her life|take my own life|take my life|taking my life|"
        "take his own life|take her own life|want to die|wanna die|wants to die|want to be dead|"
        "wish i was dead|wish i were dead|better off dead|better off without me|no reason to live|"
        "nothing to live for|dont want to live|doesnt want to live|dont want to be alive|"
        "dont want to be here|dont want to wake up|not want to live|self harm*|selfharm*|jump off|"
        "jump in front|voices telling me|hurt someone|kill someone|homicidal|quiero morir*|matarme|"
        "quitarme la vida|no quiero vivir|cant go on|point of living|point in living|no point living|"
        "not worth living|life isnt worth|never wake up|reason for me to live|no reason for me to live|"
        "dont see the point|no point in living|no point of living|jumping off|hang myself|slit my wrists|"
        "want to end it|going to end it|gonna end it|better off if i was gone|better off if im gone|"
        "better off if i were gone|if i wasnt here|if i was gone|if i were gone|if i disappeared|"
        "take all my pills at once|going to take all my|swallow all my pills|swallow all my tablets|"
        "hearing voices|voices telling|hurt people|kill people|hurt others|harm people|harm others"
    ),
    "OVERDOSE": (
        "od|took an overdose|too many pills|too many tablets|"
        "overdose|overdosed|overdosing|overdoses|oded|sobredosis|poison control|poisoning|poisoned|"
        "envenenado|envenenamiento"
    ),
    "INGEST": (
        "chewed|chewing|bit|licked|sucked|swallowing|sipped|got hold of|drunk some|gulped|necked|ate some|"
        "took|taken|swallowed|swallow|ate|eaten|drank|drunk|ingested|got into|popped|downed|tomo|trago|"
        "se tomo|taking|take"
    ),
    "MEDS": (
        "syrup|cough syrup|cough medicine|iron tablets|iron pills|vitamins|gummies|ibuprofens|paracetamols|"
        "co codamol|codeine|tramadol|morphine|diazepam|valium|sertraline|antidepressants|blood thinners|"
        "warfarin|heart pills|my tablets|her tablets|his tablets|the tablets|of the pills|the pills|"
        "pills|pill|meds|medication|medications|medicine|tablets|painkillers|tylenol|advil|ibuprofen|"
        "acetaminophen|paracetamol|xanax|oxy|oxycodone|fentanyl|insulin|sleeping pills|pastillas|"
        "antibiotic|antibiotics|new meds|injection|shot|vaccine"
    ),
    "QUANTITY": (
        "a load of|empty bottle|empty packet|empty box|empty pack|whole packet|half a bottle|"
        "half the bottle|dozen|10|12|14|15|16|20|24|25|30|32|40|50|60|100|about 10|about 20|too many|"
        "too much|whole bottle|entire bottle|handful|a bunch|bunch of|all of|all my|all her|all his|"
        "a lot of|lots of|demasiadas|todas|whole pack|entire pack|whole box|whole packet|a pack of|"
        "whole strip|whole thing|a whole load|loads of|load of"
    ),
    "QUANTITY_MILD": "double|extra|twice|two doses|by mistake|wrong pills|wrong medication",
    "POISON": (
        "dishwasher|dishwasher liquid|washing up liquid|dish soap|windscreen wash|screenwash|washer fluid|"
        "weed killer|weedkiller|slug pellets|fertiliser|fertilizer|wild mushrooms|foraged|white spirit|"
        "petrol|paraffin|bleach|oven cleaner|toilet cleaner|drain cleaner|descaler|mouthwash|essential oil|"
        "essential oils|perfume|hand sanitiser|hand sanitizer|pod|pods|rat bait|carbon monoxide|fumes|"
        "bleach|poison|poisonous|antifreeze|detergent|laundry pod|tide pod|button battery|battery|"
        "batteries|magnet|magnets|chemicals|chemical|cleaner|cleaning|pesticide|rat poison|lye|drano|"
        "nicotine|vape juice|lighter fluid|gasoline|lamp oil|cloro|veneno|poisonous berries|"
        "mushrooms from the garden|garden mushrooms|toadstool|toadstools|mushrooms from|mushrooms i picked|"
        "picked mushrooms"
    ),
    "PREGNANT": "enceinte|months pregnant|baby bump|pregnent|pregant|preggers|20 weeks|"
    "21 weeks|22 weeks|23 weeks|24 weeks|25 weeks|26 weeks|27 weeks|28 weeks|29 weeks|30 weeks|31 weeks|"
    "32 weeks|33 weeks|34 weeks|35 weeks|36 weeks|37 weeks|38 weeks|39 weeks|40 weeks|41 weeks|42 weeks|"
    "pregnant|pregnancy|weeks along|trimester|embarazada|embarazo",
    "FETAL": (
        "baby quiet|baby very quiet|baby has been quiet|baby has been very quiet|hardly any kicks|"
        "not many kicks|less kicks|fewer movements|hardly moving|havent felt the baby|havent felt baby|"
        "not felt the baby|baby hasnt kicked|no movements|reduced kicks|less movements|baby not moving|"
        "baby isnt moving|baby hasnt moved|baby stopped moving|not feeling the baby|not feeling baby|"
        "cant feel the baby|cant feel baby|baby moving less|less movement|fewer kicks|no kicks|not kicking|"
        "stopped kicking|reduced movement|decreased movement|el bebe no se mueve|movements have reduced|"
        "movements reduced|movement has reduced|movements have slowed|movements are less|movements slowed|"
        "movements have stopped|movements have changed"
    ),
    "WATERS": (
        "my waters|her waters|waters just broke|waters have gone|waters went|waters gone|fluid trickling|"
        "trickle of fluid|trickling fluid|leaking water|gush of water|leaking clear fluid|"
        "water broke|waters broke|water broken|waters broken|water has broken|water just broke|"
        "leaking fluid|gush of fluid|fluid leaking|rompio la fuente|rompio fuente"
    ),
    "CONTRACTIONS": ("cramping|cramps|colicos|tightening|tightenings|pressure low down"),
    "LABOUR": (
        "contractions|contracting|in labor|in labour|going into labor|contracciones|getting regular|"
        "coming regularly|every few minutes|every 5 minutes|every five minutes|tightenings getting"
    ),
    "MOVES_LESS": (
        "hardly any kicks|very quiet|quiet today|not as much|not felt|havent felt|hasnt kicked|not kicked|"
        "hardly moving|less kicks|"
        "moving less|moving much less|moved less|not moving|stopped moving|hasnt moved|not moved|"
        "isnt moving|moving a lot less|no movement|not kicking|stopped kicking|no se mueve"
    ),
    "BREATH_FAST": "fast|rapid|shallow|grunting|sucking in|retractions|ribs showing|flaring|hard|heavily",
    "WOUND": "wound|cut|gash|incision|stitches|laceration|herida",
    "GUSH": (
        "thru the bandage|coming through the|through the dressing|soaked through|hasnt stopped|not stopped|"
        "keeps running|running down|soaking|soaked|soaking through|gushing|pouring|spurting|squirting|"
        "wont stop|doesnt stop|through the bandage|through the bandages|keeps bleeding|pumping|pumping out|"
        "spurting out|split open|with my heartbeat|with each heartbeat"
    ),
    "DIABETIC": (
        "type 1|type one|t1|type 1 diabetic|hypo|hypos|sugars|sugar is|sugar level|sugar levels|diabetic|"
        "diabetes|blood sugar|sugar|glucose|insulin|diabetico|diabetica"
    ),
    "WAKE_OTHER": (
        "rouse him|rouse her|rouse them|wake my|wake the|wake up my|"
        "wake him|wake her|wake them|wake my|rouse him|rouse her|wake him up|wake her up|despertarlo|"
        "despertarla"
    ),
    "TRAUMA": "fall|fell|accident|crash|hit by|car accident|caida",
    "ARM_JAW": "arm|arms|jaw|left arm|left shoulder|brazo|mandibula",
    "DROWSY": "drowsy|sleepy|lethargic|cant stay awake|very sleepy",
    "BLUE": "blue|purple|grey|gray|dusky|azul|morado|morados",
    "REST": "resting|at rest|sitting|lying down|even when|doing nothing|sitting still|en reposo",
    "ASTHMA": "asthma attack|asthma flare|ataque de asma",
    "MILD": (
        "mild|mildly|a bit|a little|slight|slightly|occasional|occasionally|sometimes|now and then|"
        "once in a while|from time to time|a tad|kinda|kind of|sort of|leve"
    ),
    "SKIN": (
        "acne|rash|pimple|pimples|spots|mole|moles|tattoo|itchy|itch|itching|eczema|psoriasis|bumps|hair|"
        "hairs|skin|scar|scars|wart|warts|cyst|bruise|bruises"
    ),
    "INFANT": "1 week|2 weeks|3 weeks|4 weeks|5 weeks|6 weeks|7 weeks|8 weeks|weeks old|wks old|little baby|"
    "newborn baby|"
    "baby|babies|newborn|infant|week old|weeks old|month old|months old|mo old|bebe|recien nacido",
    "CHILD": "childs|sons|daughters|kids|"
    "granddaughter|grandson|grandchild|little one|kids|children|niece|nephew|toddlers|is two|"
    "is three|is four|shes 2|hes 2|shes 3|hes 3|shes 4|hes 4|shes two|hes two|shes 1|hes 1|she is two|"
    "he is two|son is|daughter is|teenager|teen|"
    "son|daughter|kid|child|toddler|boy|girl|year old|hijo|hija|nino|nina",
    "FEVER": (
        "really hot|burning hot|red hot|temperature of|temp of|high temperature|high temp|shivery|shivering|"
        "shaking chills|rigors|chills|"
        "fever|feverish|temperature|temp|burning up|febrile|fiebre|calentura|feels hot|feel hot|is hot|"
        "very hot|so hot|hot to touch|hot to the touch"
    ),
    "HIGH_TEMP": "39|103|104|105|106|107|40|41|high|very high|alta|muy alta",
    "FLOPPY": (
        "wet nappy|no wet nappies|no wet nappy|hasnt had a wet nappy|hasnt had a wet diaper|dry nappy|"
        "dry nappies|dry nappys|wont drink|floppy and|very quiet|really quiet|gone quiet|blotchy|ice cold|"
        "hands and feet are cold|cold hands and feet|hands and feet ice cold|grey|pale and|floppy|limp|"
        "lethargic|listless|wont feed|not feeding|wont eat|not eating|not drinking|no wet diapers|"
        "no wet diaper|sunken|hard to wake|wont wake|inconsolable|wont stop crying|rash that doesnt fade|"
        "purple spots|purple rash|stiff neck|mottled|seizure|no reacciona|neck is stiff|"
        "wont take the bottle|not taking the bottle|wont take a bottle|wont nurse|not nursing|isnt feeding|"
        "isnt eating|not feeding well|not waking|high pitched|high pitched cry|high pitched scream|"
        "wont settle|not like her normal|not like his normal|red jelly|redcurrant jelly|blood in her nappy|"
        "blood in his nappy|bloody nappy|drawing her legs up|drawing his legs up|vomiting green|green vomit"
    ),
    "HEADACHE": (
        "head is splitting|splitting headache|head splitting|splitting head|head is killing|"
        "head is pounding|thumping headache|head is throbbing|thunderclap headache|head feels like|"
        "headache|headaches|head hurts|head pain|head is pounding|head pounding|migraine|migraines|"
        "dolor de cabeza|jaqueca|knife in my head|head exploded|head is exploding|hit in seconds"
    ),
    "NEURO_RED": (
        "neck wont bend|cant bend my neck|cant bend her neck|cant bend his neck|neck hurts to bend|"
        "light hurts|light is killing|light is hurting|cant stand light|cant stand the light|"
        "cant look at light|photophobia|light hurts my eyes|sensitive to light|seeing double|see double|"
        "stiff neck|cant see|double vision|confused|confusion|slurred|one side|neck is stiff|neck stiff|"
        "cant move my neck|chin on my chest|chin to my chest|chin to chest|chin on chest|"
        "rash that wont blanch|wont blanch"
    ),
    "HEAD_INJURY": (
        "onto her head|onto his head|onto my head|landed on her head|landed on his head|landed on my head|"
        "hit head|banged head|bumped head|knock to the head|knocked his head|knocked her head|"
        "knocked my head|blow to the head|head first|headfirst|smacked his head|smacked her head|"
        "smacked my head|"
        "hit my head|hit his head|hit her head|hit their head|hit the head|bumped my head|bumped his head|"
        "bumped her head|banged my head|banged his head|banged her head|head injury|concussion|"
        "fell on his head|fell on her head|fell on my head|golpe en la cabeza"
    ),
    "HEAD_RED": (
        "pupil|pupils|seeing double|double vision|been sick|sick twice|being sick|sick again|drowsy|"
        "wont wake|sleepy|clear fluid|fluid from|"
        "vomiting|throwing up|threw up|confused|passed out|knocked out|sleepy|drowsy|blood thinners|"
        "seizure|wont stop crying|bleeding|unconscious|thrown up|puking|puked|vomited|cant remember"
    ),
    "APPENDIX": "appendicitis|apendicitis|burst appendix|appendix burst|ruptured appendix",
    "RIGID": (
        "rigid|hard as a rock|doubled over|cant stand up|cant straighten|rock hard|hard as a board|"
        "board like|bending over|bent over|cant walk without|cant sit still"
    ),
    "EXTREME": (
        "excruciating|unbearable|worst|agonizing|agonising|cant stand|cant move|doubled over|screaming|"
        "10 out of 10|10 10|insoportable|never felt|never had"
    ),
    "WEIRD": "weird|funny|strange|off|odd|wrong|not right|raro|rara|extrano",
    "DYING": (
        "think im going to die|think hes dying|think shes dying|"
        "im dying|i am dying|feel like im dying|think im dying|going to die|gonna die|is dying|"
        "feel like dying|me muero|me estoy muriendo"
    ),
    "EXERTION": (
        "running|ran|jogging|jog|gym|workout|working out|exercise|exercising|stairs|hiking|climbing|"
        "walking up|sprint|sprinting|after a run|soccer|basketball|practice"
    ),
    "PERIOD": "period|periods|menstrual|menses|time of the month|regla|menstruacion",
    "TARRY": "black and sticky|black sticky|sticky black|black and tarry|tar like|like tar|looked like tar|"
    "black stool|black poo|black poos|blood in my poo|maroon|"
    "tarry|black stool|black stools|black poop|coffee grounds",
    "DEHYDRATION": (
        "not had a wee|hasnt weed|no wee|hasnt had a wee|cant keep anything down|cant keep water down|"
        "cant keep fluids down|hasnt peed|no urine|not peeing|hasnt eaten or drunk|not eaten or drunk|"
        "hasnt drunk|hasnt drunk anything|not drunk anything|not drinking anything|nothing to drink|"
        "cant keep even water down|cant keep anything in|barely peeing|hardly peeing|not peed all day|"
        "havent peed all day"
    ),
    "CHOKE": "choking|choked|stuck in his throat|stuck in her throat|stuck in my throat|cant swallow",
    "DROWN": (
        "bit through|chewed through|live wire|electric cable|snake bite|snakebite|bitten by a snake|"
        "bit by a snake|snake bit|adder bite|bitten by an adder|scorpion sting|carbon monoxide|drowned|"
        "drowning|nearly drowned|almost drowned|electrocuted|electric shock|stabbed|been stabbed|"
        "stab wound|knife wound|been shot|got shot|gunshot|gun shot|house fire|smoke inhalation|"
        "breathed in smoke|coughing black|in a fire|hit by a car|knocked down by a car|run over|"
        "fell from a height|fell off a roof|fell from a ladder|fell off a ladder"
    ),
    "SUGAR_CRISIS": (
        "ketoacidosis|dka|hypoglycemic|hypoglycemia|diabetic coma|insulin shock|ketones are high|"
        "high ketones|ketones high|breath smells fruity|fruity breath|smells like pear drops"
    ),
    "PANIC": "panic attack|panic attacks|anxiety attack|ataque de panico",
    "DESPAIR": (
        "cant keep living|cant keep going|cant go on like this|living like this|cant live like this|"
        "left a note|wrote letters to|written letters to|goodbye letters|point of anything|"
        "no point anymore|no way out|dont see a way out|cant see a way out|see no way out|"
        "cant do this anymore|cant do it anymore|cant take it anymore|cant take this anymore|"
        "cant cope anymore|done with everything|done with life|hopeless|worthless|everything to be over|"
        "it all to be over|all to be over|it all to end|want it all to stop|everything to stop|"
        "over permanently|dark thoughts|empty inside|numb inside|nobody would miss me|no one would miss me|"
        "nobody would care|no one would care|everyone would be better|sorry for everything|"
        "given up on life|giving up on life|give up on life|had enough of life|had enough of living|"
        "had enough of everything|had enough of it all|letters to my family|letters to my kids|"
        "letters to my children|letters to everyone|wrote a goodbye|written a goodbye|feel like a burden|"
        "im a burden|being a burden|such a burden|a burden to everyone|a burden on everyone|"
        "burden to my family|burden on my family|whats the point of anything|whats the point of living|"
        "what is the point of living|whats the point anymore|saying her goodbyes|saying his goodbyes|"
        "saying my goodbyes|said my goodbyes|said goodbye to everyone|no point going on|"
        "no point in going on"
    ),
    "FINALITY": (
        "goodbyes|saying goodbye|said goodbye|her goodbyes|his goodbyes|my goodbyes|goodbye|good bye|"
        "bye forever|this is the end|im done|i am done|for good|final|last time|letters|a note|note for|"
        "giving my stuff away|giving away my|given away my|giving away|sorted my affairs|my affairs|a plan|"
        "have a plan|got a plan|made a plan|my plan|tonight|this weekend|wont be needing|wont need them|"
        "decided|ready|how many|researching|thought about how"
    ),
    "MEANS": (
        "rope|noose|ligature|knife|blade|blades|gun|shotgun|ledge|in front of a train|in front of a bus|"
        "in front of a car|into a wall|into a tree|crash my car|crash the car|stockpil*|pills ready|"
        "tablets ready|off a bridge|off the bridge|off a cliff|off the cliff|off the roof|off a roof|"
        "drive into a wall|driving into a wall|drive into a tree|driving into a tree|drive off a|"
        "driving off a|saved up my|saved up pills|saved up tablets|saving up pills|saving up tablets|"
        "saving my pills|saving my tablets"
    ),
    "INTENT": (
        "thinking about|thinking of|thought about|want to|wanna|going to|gonna|plan to|planning|tempted|"
        "urge to|urges to|about to|decided to|ready to|on myself|at myself"
    ),
    "ON_PURPOSE": "on purpose|deliberately|intentionally|to hurt myself|to punish myself",
    "BURN_INJURY": "burned|burnt|burn|burns|scald|scalded|scalding|scalds|blisters|blister|burnd",
    "BURN_RED": (
        "boiling water|boiling|hot oil|peeling|skin peeling|big area|large area|area of skin|white and|"
        "leathery|charred|doesnt hurt anymore|doesnt hurt|dont hurt|no feeling|singed|nostrils|eyebrows|"
        "bigger than|bigger than my hand|bigger than his hand|all over|huge|large|severe|chemical|"
        "electrical|electric|deep|whole arm|whole leg|whole hand|peeling off|skin came off|skin is white"
    ),
    "RASH_RED": (
        "doesnt go away when|dont go away when|doesnt go when|doesnt disappear when|dont disappear when|"
        "doesnt change when|when pressed|when you press|when i press|press on it|pressed with a glass|"
        "under a glass|glass on it|doesnt fade|dont fade|wont fade|didnt fade|not fading|glass test|"
        "press a glass|non blanching|nonblanching|purple spots|purple rash|purple dots|dark red dots|"
        "tiny red dots|red pinprick|pinprick|pin prick|bruise like|bruising everywhere|mottled|wont blanch|"
        "doesnt blanch|dont blanch|not blanching"
    ),
    "JAUNDICE": (
        "yellow eyes|eyes are yellow|eyes yellow|yellow skin|skin is yellow|gone yellow|turned yellow|"
        "jaundice|jaundiced|looks yellow"
    ),
    "IMMUNO": (
        "chemo|chemotherapy|neutropenic|immunosuppressed|immunocompromised|transplant|on steroids|"
        "cancer treatment|radiotherapy|no spleen"
    ),
    "POSTPARTUM": (
        "after delivery|after giving birth|gave birth|had my baby|had the baby|just had a baby|postpartum|"
        "post partum|c section|caesarean|since the birth|since giving birth|after the birth|delivered"
    ),
    "FRACTURE_OPEN": (
        "bone poking out|bone sticking out|bone is poking|bone is sticking|bone through the skin|"
        "bone showing|see the bone|see bone|down to the bone|bent the wrong way|odd angle|funny angle|"
        "weird angle|deformed|gaping|see something white|see fat|fat showing|wont close|deep cut|"
        "bending the wrong way|facing the wrong way|pointing the wrong way|turned out|leg turned out|"
        "leg is turned out|cant get up|cant put weight on"
    ),
    "RETENTION": (
        "cant pee|cant wee|cant urinate|cant pass urine|unable to pee|havent peed|not peed|no pee|"
        "havent been able to pee|cant go to the toilet"
    ),
    "RETINA": ("curtain|floaters|flashes|flashing lights|flashing|veil"),
    "ERECTION": "erection|erections|priapism|hard on",
    "INFECTION": (
        "infection|infected|urine infection|uti|chest infection|cellulitis|sepsis|septic|redness spreading|"
        "red streak|red line|spreading redness|the redness is spreading"
    ),
    "LIMP": (
        "floppy|limp|lethargic|listless|mottled|hard to wake|wont wake|unresponsive|ice cold|grey and|"
        "gone grey"
    ),
    "FITS": "fits|fits started|having fits",
    "SEIZURE_SOFT": (
        "twitching|twitch|jerking|jerks|shaking|shake|shook|shaking all over|fits|stiffened|stiff and|"
        "went rigid"
    ),
    "UNRESP": (
        "not answering|wont answer|isnt answering|not moving|isnt moving|eyes open but|drifts off|"
        "drifting off|barely awake|very sleepy|so sleepy|really sleepy|not herself|not himself|gone quiet|"
        "went quiet|woke up confused|doesnt know her name|doesnt know his name|not making sense|"
        "acting strange|acting strangely|staring into space|just staring|not talking or moving|"
        "isnt talking or moving|came round confused"
    ),
    "FALLDOWN": "went down|go down|fell|collapsed|dropped|hit the floor|on the floor|keeled",
    "HOURS": "hours|hour|all day|since this morning|since last night|for hours",
    "LIMB_ANY": "hand|hands|arm|arms|leg|legs|foot|feet|fingers|finger",
    "REFLUX": (
        "heartburn|reflux|acid|gerd|indigestion|antacid|antacids|tums|after eating|after i eat|"
        "after meals|spicy|burping"
    ),
}
WORD_CLASSES: Mapping[str, tuple[str, ...]] = {name: tuple(v.split("|")) for name, v in _CLASSES.items()}
"""Word class -> entries (words or phrases over normalised tokens; ``*`` ends a prefix)."""

# Classes that are cues, contexts or people, not a body system or a symptom: a text that mentions only
# these is no clinical text, and the learned second opinion does not raise it.
CUE_CLASSES = frozenset(
    {
        "SEVERITY", "WORST", "ONSET", "WORSE", "DISTRESS", "INABILITY", "MANNER", "ONE_SIDE", "STROKE_NOW",
        "RADIATE", "SELF", "HARM_VERB", "KILL", "ACCIDENT", "INGEST", "QUANTITY", "QUANTITY_MILD", "CHILD",
        "INFANT", "HIGH_TEMP", "EXERTION", "PERIOD", "MILD", "SKIN", "REST", "TRAUMA", "WEIRD", "REFLUX",
        "LIMB", "RADIATE_TO", "ARM_JAW", "SPEECH", "FACE", "EYE", "HEAD", "LIPS", "BLUE", "BREATH_FAST",
        "DROWSY", "MEDS", "BLEED_HEAVY", "GUSH", "EXTREME", "INTENT", "FINALITY", "MEANS", "ON_PURPOSE",
        "BURN_RED", "HOURS", "FITS", "LIMB_ANY", "FALLDOWN", "SEIZURE_SOFT", "POSTPARTUM", "IMMUNO",
    }
)  # fmt: skip

# Common words: the batch pre-filter looks for another word of an entry when it has one ("want to die":
# "die"), so that it keeps few texts (:mod:`._filter`).
COMMON_WORDS = frozenset(
    "a about after all also am an and any are as at away back be been being but by can come could day "
    "did do does doing done down each even every feel feels felt for from get gets getting go goes going "
    "gone got had has have having he her here him his how i if in into is it its just keep keeps know last "
    "let like lot make me more most much my need new no not now of off on one or other our out over please "
    "put really right see seem she should so some someone something still stop such take taking than that "
    "the their them then there these they thing think this those through time to too took up us very want "
    "wants was way we well went were what when where which while who why will with would yes you your "
    "better end para de la el en se mi que y hour hours weeks without into".split()
)

# Phrases in which a word of a class does not carry its clinical sense: every class mention that lies
# wholly inside one of these is dropped before the rules run ("chest of drawers", "heart set on",
# "dying to try", "stroke prevention class"). Written as word sequences over normalised tokens.
SENSES: tuple[str, ...] = tuple(
    (
        "heart set on|heart is set on|heart was set on|heart of|heart goes out|heart went out|"
        "heart to heart|set my heart|at heart|by heart|all my heart|bottom of my heart|change of heart|"
        "broke my heart|break my heart|breaks my heart|breaking my heart|warms my heart|bless your heart|"
        "bless her heart|bless his heart|follow your heart|follow my heart|have a heart|kind heart|"
        "heart broken|heart melts|heart doctor|heart specialist|heart surgeon|heart health|heart healthy|"
        "heart scan|heart monitor|heart rate monitor|heart check|heart checkup|heart screening|"
        "treasure chest|toy chest|hope chest|tool chest|ice chest|war chest|cedar chest|storage chest|"
        "chest of drawers|right now|right away|right back|right after|right here|right there|right before|"
        "me a heart attack|air condition*|air con|heart attack waiting to happen|gave me a heart attack|"
        "give me a heart attack|almost had a heart attack|nearly had a heart attack|"
        "going to give me a heart attack|chest of|chest x ray|chest xray|chest ct|chest film|"
        "chest freezer|chest day|chest press|chest workout|chest hair|chest tattoo|chest binder|dying to|"
        "dying for|dying of laughter|dying laughing|dying my hair|dying her hair|dying his hair|"
        "dying your hair|dying my beard|dying the hair|hair dying|hair dye|stroke of luck|"
        "stroke of genius|stroke of midnight|stroke prevention|stroke clinic|stroke class|stroke classes|"
        "stroke risk|stroke awareness|stroke rehab|stroke rehabilitation|stroke unit|stroke support|"
        "stroke recovery|stroke survivor|stroke survivors|stroke program|stroke screening|stroke center|"
        "stroke centre|stroke education|brush stroke|breast stroke|breaststroke|swim strokes|killing it|"
        "killed it|killing time|breath of fresh air|breathing exercises|breathing exercise|"
        "breathing treatment|breathing treatments|breathing test|breathing machine|breathing room|"
        "breathe through my nose|breathing through my nose|breathe through his nose|"
        "breathe through her nose|breathe through the nose|breathing through the nose|bad breath|"
        "breath smells|breath stinks|hold my breath|holding my breath|under my breath|waste of breath|"
        "fresh air|air conditioning|air conditioner|on air|air mattress|hot air|air fryer|blood test|"
        "blood tests|blood testing|blood work|blood draw|blood drawn|blood sugar|blood sugars|"
        "blood donation|blood type|blood panel|blood count|blood counts|blood pressure|blood orange|"
        "blood moon|blood glucose|blood results|blood lab|blood labs|bloodwork|donate blood|give blood|"
        "giving blood|first aid|pass out the|pass out flyers|pass out candy|pass out forms|"
        "pass out papers|pass out samples|pass out cards|passing out the|passing out flyers|"
        "passing out candy|passing out forms|passing out papers|passing out samples|passing out cards|"
        "passed out the|passed out flyers|passed out candy|passed out forms|passed out papers|"
        "passed out samples|passed out cards|seizure meds|seizure medication|seizure medications|"
        "seizure medicine|seizure disorder|seizure history|seizure free|seizure clinic|"
        "seizure action plan|seizure precautions|seizure threshold|allergy shots|allergy shot|"
        "allergy test|allergy testing|allergy clinic|allergy meds|allergy medicine|allergy season|"
        "allergy pills|food poisoning|pregnancy test|pregnancy tests|drop dead|dead tired|dead battery|"
        "phone battery|blow my mind|choking hazard|emergency contact|in an emergency|in case of emergency|"
        "emergency fund|help me book|help me schedule|help me find|help me with|help me understand|"
        "help me figure|stroke volume|tight schedule|tight budget|money is tight|heavy lifting|"
        "heavy period|heavy periods"
    ).split("|")
)
# "I overdosed on cardio": an overdose of an activity or a treat is a figure of speech
SENSES += tuple(
    f"{verb} on {thing}"
    for verb in ("overdose", "overdosed", "overdosing", "od", "oded")
    for thing in (
        "cardio", "exercise", "workouts", "workout", "training", "leg day", "the gym", "gym", "running",
        "squats", "weights", "netflix", "tv", "sugar", "chocolate", "candy", "sweets", "sun", "work",
        "coffee", "christmas", "shopping", "video games",
    )
)  # fmt: skip
# "took 20 mg": a number with a unit is a dose, not a quantity taken
SENSES += tuple(
    f"{n} {unit}"
    for n in ("10", "12", "14", "15", "16", "20", "24", "25", "30", "32", "40", "50", "60", "100")
    for unit in ("mg", "mcg", "ml", "g", "units", "milligrams", "micrograms", "percent", "years")
)  # fmt: skip
"""Word sequences in which the class words they hold are not clinical (dropped before the rules)."""

# Words that may follow a resolution word in its sense ("the pain has gone completely"); another word after
# it gives a new state ("he's gone quiet", "she stopped responding"), no resolution. Words of
# COMMON_WORDS ("now", "away", "and") may follow too.
RESOLUTION_FOLLOWERS = frozenset(
    "completely entirely fully thankfully totally yesterday today overnight quickly already since".split()
)

# Words that negate a following mention in the same clause (NegEx pre-negation triggers).
PRE_NEGATIONS = frozenset(
    (
        "no not never denies deny denied denying without dont doesnt didnt havent hasnt hadnt isnt "
        "arent wasnt werent nor none zero nope sin nunca nada ningun ninguna"
    ).split()
)
PRE_NEGATION_PHRASES = ("free of", "negative for", "ruled out", "absence of", "no longer", "no more")
# Phrases that contain a negation word but do not negate (NegEx pseudo-negations). None ends with words
# another starts with (the clause check removes them all in one pass).
PSEUDO_NEGATIONS = (
    "not sure",
    "no idea",
    "not certain",
    "dont know",
    "not only",
    "no doubt",
    "no matter",
    "not just",
    "no one",
    "not normal",
    "dont think",
    "doesnt know",
    "didnt know",
    "not stopping",
    "not going away",
    "wont stop",
    "doesnt stop",
    "not responding",
    "not breathing",
    "isnt breathing",
    "wasnt breathing",
    "not waking",
    "not making sense",
    "no sense",
    "not feeling",
    "not moving",
    "isnt moving",
    "not eating",
    "not drinking",
    "not feeding",
    "not kicking",
    "not getting",
    "not enough",
    "no air",
    "not right",
    "no puedo",
    "no puede",
    "no para",
    "no deja",
    "no veo",
    "no responde",
    "no despierta",
    "no reacciona",
    "no quiero vivir",
)
# "I've never had chest pain like this": "never" with a comparison after the mention is not a negation.
NEVER_COMPARISONS = (r"like (?:this|that|it)", r"this (?:bad|badly|strong)", r"so (?:bad|badly)", "before")
# "without" after one of these is no negation: "I can't walk without chest pain".
UNABLE = frozenset({"cant", "couldnt", "unable", "wont"})
# After a mention in its clause: the symptom is over.
POST_NEGATIONS = (
    "gone",
    "resolved",
    "went away",
    "has stopped",
    "stopped",
    "cleared up",
    "is over",
    "healed",
    "ruled out",
    "was nothing",
    "is better",
    "got better",
    "no longer",
    "under control",
)
# ... unless the sentence says it is back.
RETURNED = ("came back", "comes back", "is back", "its back", "again", "returned")
# In a mention's clause: the symptom is past ...
HISTORY = (
    "last year",
    r"years? ago",
    r"months ago",
    "history of",
    "hx of",
    "used to",
    "previous",
    "previously",
    "in the past",
    "back in",
    r"in (?:19|20)\d\d",
    r"as a (?:kid|child|teen)",
    r"when i was (?:young|little|a kid)",
    "el ano pasado",
    "hace anos",
)
# ... unless the clause or the rest of the sentence says it is current.
CURRENT = (
    "still",
    "again",
    "came back",
    "comes back",
    "coming back",
    "is back",
    "its back",
    "back again",
    "returned",
    "returning",
    "today",
    "tonight",
    "this morning",
    "this afternoon",
    "this evening",
    "right now",
    "rn",
    "currently",
    "at the moment",
    "getting worse",
    "worse",
    "hoy",
    "ahora",
)
# Before a mention in its sentence: the symptom is supposed, not present ("what should I do if I get chest
# pain after the procedure", "in case he can't breathe") ...
HYPOTHETICAL = (
    "if",
    "what are the",
    "warning signs",
    "look out for",
    "watch out for",
    "in case",
    "incase",
    "in the event",
    "should i ever",
    "risk of",
    "risks of",
    "chance of",
    "chances of",
    "prevent",
    "preventing",
    "prevention",
    "avoid",
    "si llega",
    "en caso de",
)
# ... but these are no hypotheticals ("can I come in today if possible, took a bunch of pills").
PSEUDO_HYPOTHETICALS = (
    "if possible",
    "if you can",
    "if you could",
    "if not",
    "if so",
    "if needed",
    "if necessary",
    "if available",
    "if thats ok",
    "if thats okay",
    "if that works",
    "if any",
    "if anything",
    "as if",
)
# ... and an "if" is none when it follows one of these (an "if" that asks about the present: "not sure
# if he is having a stroke", "how do I know if this is a heart attack").
EPISTEMIC = frozenset("sure know knowing wonder wondering unsure ask asking tell check see idea".split())
# A subject starts a new clause for negation: "my inhaler isn't helping and I can hardly breathe".
SUBJECTS = frozenset({"i", "im", "he", "hes", "she", "shes", "they", "theyre", "we", "were", "you", "youre"})
# Words that end a clause, as punctuation does.
CLAUSE_WORDS = frozenset({"but", "however", "although", "though", "yet", "except", "pero", "aunque"})

# Word sequences folded into one token before anything else (plain words, longest first).
CONTRACTION_PHRASES: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        (
            "is not able to",
            "am not able to",
            "are not able to",
            "was not able to",
            "isnt able to",
            "wasnt able to",
            "can not",
            "cannot",
            "can t",
            "cant",
            "unable to",
            "not able to",
            "couldnt",
            "could not",
            "cnt",
        ),
        "cant",
    ),
    (("won t", "will not"), "wont"),
    (("don t", "do not", "dnt"), "dont"),
    (("doesn t", "does not"), "doesnt"),
    (("didn t", "did not"), "didnt"),
    (("haven t", "have not"), "havent"),
    (("isn t", "is not"), "isnt"),
    (("my self",), "myself"),
    (("i m",), "im"),
)
