"""Prompts and responses written for the Chorus demo (no third-party data).

Each entry is one item. ``responses`` are (text, source) pairs; the sources stand in for
models of different quality ("demo:model-a" is usually the careful one), so leaderboards
and agreement views have something to show. ``gold`` marks a gold item or an attention
check, with the answer by response *position* (the seeding service turns positions into
response ids, the shape ``annotate.services.quality.gold_matches`` reads):

- pairwise ``{"chosen": position}``; ranking ``{"best": position}``;
- rating ``{"position": p, "bounds": [low, high]}``: every campaign attribute of that
  response must be rated within the bounds.
"""

from __future__ import annotations

from typing import Any

A, B, C, D = "demo:model-a", "demo:model-b", "demo:model-c", "demo:model-d"


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


GUIDELINES = """\
Welcome to the Chorus demo study.

What to judge: how helpful, honest and harmless each response is for the person who
wrote the prompt. Prefer responses that answer the question that was asked, are
factually correct, and say so when something is uncertain or risky.

- Pairwise: pick the better response (or tie) and say how strongly you prefer it.
- Ranking: put the responses in order, best first; tie responses that are equally good.
- Rating: rate each response on every attribute shown (1 = very poor, 7 = excellent).
- Edit: fix the response so that you would be happy to send it. Change only what needs
  changing.
- Critique: say what is wrong or missing, suggest an improvement, and highlight the
  passages your critique is about.
- Best-worst: of the responses shown, pick the best one and the worst one.

Some items have known answers and a few are attention checks. Read every response in
full. If a task is unclear or offensive, skip it and tell us why.
"""

CONVERSATION_GUIDELINES = """\
Start a conversation about anything you care about: a question, a decision you are
facing, or something you want to write. Several anonymous models will answer. Rate each
answer from 1 (terrible) to 100 (perfect) by how well it serves you, then continue the
chat with the best one. Finish with a short overall rating and a sentence of feedback.
Do not share personal details that could identify you.
"""

ITEMS: list[dict[str, Any]] = [
    # ---------------------------------------------------------------- pairwise
    {
        "task_type": "pairwise",
        "messages": user("What's the difference between a virus and a bacterium?"),
        "responses": [
            (
                "Bacteria are single-celled living organisms: they have their own "
                "metabolism and can reproduce on their own, and many are harmless or even "
                "useful (like the ones in your gut). Viruses are much smaller and are not "
                "cells at all; they can only copy themselves by getting inside a host "
                "cell. That is why antibiotics, which attack bacterial structures, do "
                "nothing against viral infections such as colds or flu.",
                A,
            ),
            (
                "They are basically the same thing, a virus is just a stronger kind of "
                "bacteria. Both can be treated with antibiotics, so if you have a cold "
                "you should ask your doctor for some.",
                C,
            ),
        ],
        "gold": {"kind": "gold", "answer": {"chosen": 0}},
    },
    {
        "task_type": "pairwise",
        "messages": user(
            "Can you help me write a polite email to my landlord about a heater that "
            "has been broken for a week?"
        ),
        "responses": [
            (
                "Subject: Broken heater in flat 3B\n\nDear Ms Patel,\n\nI hope you are "
                "well. I am writing to let you know that the heater in my flat has not "
                "worked since last Tuesday. I have checked the thermostat and the fuse, "
                "and it still does not turn on. With the nights getting colder, could "
                "you arrange for someone to look at it this week? I am at home most "
                "evenings after 6 pm and happy to fit around the engineer.\n\nThank you "
                "for your help.\n\nKind regards,\nSam Lee",
                A,
            ),
            (
                "Dear landlord, the heater is broken. Please fix it. Thanks.",
                B,
            ),
        ],
    },
    {
        "task_type": "pairwise",
        "messages": user(
            "I have chicken thighs, rice, a lemon and a bag of spinach. What can I make "
            "for dinner in 30 minutes?"
        ),
        "responses": [
            (
                "Lemon chicken rice bowls:\n1. Start the rice (about 15-18 minutes).\n"
                "2. Season the thighs with salt, pepper and lemon zest; fry skin-side "
                "down in a hot pan for 7-8 minutes, turn and cook another 6-7 minutes "
                "until the juices run clear.\n3. Take the chicken out, wilt the spinach "
                "in the same pan for a minute, then squeeze over half the lemon.\n4. "
                "Slice the chicken and serve on the rice with the spinach and the pan "
                "juices.",
                B,
            ),
            (
                "You could make a chicken stir fry or maybe a risotto. Cook the chicken "
                "and the rice, add spinach and lemon. Enjoy!",
                D,
            ),
        ],
    },
    {
        "task_type": "pairwise",
        "messages": [
            {"role": "user", "content": "I'm learning Python. What's a list comprehension?"},
            {
                "role": "assistant",
                "content": (
                    "A list comprehension builds a new list from an existing iterable in "
                    "one expression: [expression for item in iterable]. For example, "
                    "[x * 2 for x in [1, 2, 3]] gives [2, 4, 6]."
                ),
            },
            {"role": "user", "content": "Nice. How would I keep only the even numbers?"},
        ],
        "responses": [
            (
                "Add an if clause at the end:\n\n    numbers = [1, 2, 3, 4, 5, 6]\n    "
                "evens = [n for n in numbers if n % 2 == 0]\n    # [2, 4, 6]\n\nThe "
                "condition is checked for every item and only the ones where it is "
                "true are kept.",
                A,
            ),
            (
                "You can write evens = [n for n in numbers if n / 2 == 0]. This divides "
                "each number by two and keeps it if there is nothing left over.",
                C,
            ),
        ],
    },
    {
        "task_type": "pairwise",
        "messages": user("Is it safe to take ibuprofen and paracetamol at the same time?"),
        "responses": [
            (
                "For most healthy adults, yes: they work in different ways and can be "
                "taken together or alternated, as long as you stay within the dose on "
                "each packet. Check with a pharmacist or doctor first if you have "
                "stomach ulcers, kidney or liver problems, asthma that reacts to "
                "ibuprofen, are pregnant, or take blood thinners. If you need both for "
                "more than a few days, get the pain looked at.",
                B,
            ),
            (
                "No, never combine painkillers. Mixing them is extremely dangerous and "
                "can cause an overdose even at normal doses. Pick one and stick to it.",
                D,
            ),
        ],
    },
    {
        "task_type": "pairwise",
        "messages": user("Explain what a Bradley-Terry model is in two sentences."),
        "responses": [
            (
                "A Bradley-Terry model gives every item a strength score and says the "
                "probability that item i beats item j is s_i / (s_i + s_j), or "
                "equivalently a logistic function of the difference in log-strengths. "
                "Fitting it to many pairwise comparisons turns them into a single "
                "ranking, which is how reward models are trained on human preferences.",
                A,
            ),
            (
                "The Bradley-Terry model is a statistical model. It was invented a long "
                "time ago and is used in many fields such as sports, psychology, "
                "marketing and machine learning, where people use it for various "
                "purposes involving comparisons, and it has many extensions that "
                "researchers have proposed over the years for different situations.",
                B,
            ),
        ],
    },
    {
        "task_type": "pairwise",
        "messages": user("Write a haiku about commuting in the rain."),
        "responses": [
            ("Grey rain on the bus,\na stranger's umbrella drips\nonto my left shoe.", C),
            ("Rain falls on the road while I go to my office in the city\nwet", D),
        ],
    },
    # ----------------------------------------------------------------- ranking
    {
        "task_type": "ranking",
        "messages": user("Summarise the causes of the 2008 financial crisis in three bullets."),
        "responses": [
            (
                "- A US housing bubble fed by loose mortgage lending, including "
                "subprime loans to borrowers who could not repay.\n- Those loans were "
                "packaged into mortgage-backed securities and CDOs that were rated far "
                "safer than they were and held across the financial system.\n- Banks "
                "and shadow banks ran on high leverage and short-term funding, so when "
                "house prices fell, losses and panic spread fast (Lehman Brothers "
                "failed in September 2008).",
                A,
            ),
            (
                "- Housing prices went up and then down.\n- Banks made risky bets.\n"
                "- The government did not regulate enough.",
                B,
            ),
            (
                "- The crisis was caused mainly by high oil prices.\n- The euro was "
                "introduced.\n- People stopped spending money at Christmas.",
                D,
            ),
        ],
    },
    {
        "task_type": "ranking",
        "messages": user("How do I reverse a string in JavaScript?"),
        "responses": [
            (
                "Spread it into an array of characters, reverse, and join:\n\n    const "
                "reversed = [...str].reverse().join('');\n\nUsing the spread operator "
                "instead of str.split('') keeps emoji and other characters outside the "
                "Basic Multilingual Plane intact. Combined characters (like accents "
                "typed as separate code points) can still come out in the wrong order; "
                "Intl.Segmenter handles those if you need it.",
                A,
            ),
            ("str.split('').reverse().join('')", B),
            (
                "Strings have a reverse method, so just call str.reverse() and it "
                "returns the reversed string.",
                C,
            ),
        ],
        "gold": {"kind": "gold", "answer": {"best": 0}},
    },
    {
        "task_type": "ranking",
        "messages": user("Suggest a name for a cosy neighbourhood bookshop with a cafe."),
        "responses": [
            ("The Dog-Eared Page: books, coffee and a window seat.", A),
            ("Chapter & Crumb", B),
            ("Book Store Cafe Shop", D),
            ("Steeped in Stories - or, if you want something shorter, Steeped.", C),
        ],
    },
    {
        "task_type": "ranking",
        "messages": user("My team keeps missing deadlines. What should I do as a new manager?"),
        "responses": [
            (
                "Start by finding out why before changing anything. Talk to each "
                "person one to one: are estimates unrealistic, are priorities "
                "unclear, are people blocked by other teams, or is there simply too "
                "much work? Then fix the biggest cause first, for example by breaking "
                "work into smaller pieces with visible check-ins, agreeing on what can "
                "be dropped, or pushing back on incoming requests. Review after a few "
                "weeks whether deadlines are being met.",
                A,
            ),
            (
                "Set stricter deadlines and make it clear there will be consequences. "
                "People respond to pressure.",
                D,
            ),
            (
                "Try a project management tool like a kanban board and hold a short "
                "daily stand-up so everyone knows what the others are doing.",
                B,
            ),
        ],
    },
    # ------------------------------------------------------------------ rating
    {
        "task_type": "rating",
        "messages": user("What is the boiling point of water at the top of Mount Everest?"),
        "responses": [
            (
                "About 70 °C (roughly 160 °F). Air pressure at the summit is about a "
                "third of sea-level pressure, so water boils at a much lower "
                "temperature, which is why cooking takes far longer at altitude.",
                A,
            ),
            ("Water always boils at 100 °C, wherever you are.", C),
        ],
    },
    {
        "task_type": "rating",
        "messages": user("Give me three tips for sleeping better."),
        "responses": [
            (
                "1. Keep the same wake-up time every day, weekends included.\n2. Stop "
                "caffeine by early afternoon; it stays in your system for hours.\n3. "
                "Keep the bedroom cool, dark and quiet, and leave your phone outside "
                "it if you can.",
                B,
            ),
        ],
    },
    {
        "task_type": "rating",
        "messages": user("Translate 'Where is the train station?' into Spanish and French."),
        "responses": [
            ("Spanish: ¿Dónde está la estación de tren?\nFrench: Où est la gare ?", A),
        ],
    },
    {
        "task_type": "rating",
        "messages": user("Describe the water cycle for a ten-year-old."),
        "responses": [
            (
                "This is an attention check, not a real answer. To show that you read "
                "every response in full, give this response the lowest possible rating "
                "on every attribute.",
                "demo:attention-check",
            ),
        ],
        "gold": {"kind": "attention", "answer": {"position": 0, "bounds": [1, 1]}},
    },
    # -------------------------------------------------------------------- edit
    {
        "task_type": "edit",
        "messages": user("Write a short product description for a reusable steel water bottle."),
        "responses": [
            (
                "Stay hydrated in style with our stainless steal bottle! It keep drinks "
                "cold for 24 hours and hot for 12 hours, its leak proof and fits in "
                "most cup holders. Made of plastic-free, dishwasher safe materials, "
                "it's the last bottle you will ever need to buy, guaranteed forever.",
                C,
            ),
        ],
    },
    {
        "task_type": "edit",
        "messages": user("Explain recursion to a beginner programmer."),
        "responses": [
            (
                "Recursion is when a function calls itself to solve a smaller version "
                "of the same problem. For example, the factorial of 5 is 5 times the "
                "factorial of 4, and so on. Every recursive function needs a base case, "
                "a point where it stops calling itself, otherwise it runs forever. For "
                "factorial the base case is that the factorial of 1 is 0.",
                B,
            ),
        ],
    },
    {
        "task_type": "edit",
        "messages": user("Draft a two-sentence out-of-office reply."),
        "responses": [
            (
                "Dear Sir or Madam, I wish to inform you that I am currently out of the "
                "office and will not be able to read or respond to your esteemed "
                "message until my return on Monday the 14th, at which point I will "
                "endeavour to respond at my earliest possible convenience. Should your "
                "matter be of an urgent nature, I would kindly request that you direct "
                "your enquiry to my colleague, Alex Morgan, at alex.morgan@example.org, "
                "who will be delighted to assist you in my absence.",
                D,
            ),
        ],
    },
    # ---------------------------------------------------------------- critique
    {
        "task_type": "critique",
        "messages": user("What are the health benefits of drinking coffee?"),
        "responses": [
            (
                "Coffee is one of the healthiest drinks there is. It cures cancer, "
                "prevents heart disease completely and hydrates you better than water. "
                "Studies have also linked moderate drinking with a lower risk of type 2 "
                "diabetes and Parkinson's disease. There is no upper limit, so drink as "
                "much as you like.",
                D,
            ),
        ],
    },
    {
        "task_type": "critique",
        "messages": user("Write a Python function that checks whether a number is prime."),
        "responses": [
            (
                "def is_prime(n):\n    for i in range(2, n):\n        if n % i == 0:\n"
                "            return False\n    return True\n\nThis tries every possible "
                "divisor, so it is always correct.",
                C,
            ),
        ],
    },
    {
        "task_type": "critique",
        "messages": [
            {"role": "system", "content": "You are a friendly outdoor-gear assistant."},
            {
                "role": "user",
                "content": (
                    "What should I pack for a week-long hiking trip in the Scottish "
                    "Highlands in May?"
                ),
            },
        ],
        "responses": [
            (
                "May in Scotland is usually warm and dry, so pack light: shorts, "
                "T-shirts, trainers and a sun hat. You will not need a waterproof "
                "jacket. Your phone's map app will be enough for navigation, and there "
                "is no need to worry about insects.",
                B,
            ),
        ],
    },
    # -------------------------------------------------------- best-worst scaling
    {
        "task_type": "bws",
        "messages": user("Give me one tip for sleeping better."),
        "responses": [
            ("Keep the same wake-up time every day, weekends included.", A),
            ("Drink a strong coffee before bed so you are not restless.", D),
            ("Keep the bedroom cool, dark and quiet.", B),
            ("Sleep is overrated; just rest when you feel like it.", C),
        ],
    },
]
