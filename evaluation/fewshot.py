"""Few-shot chain-of-thought exemplars for base models, written for this project.

GSM8K: 8 grade-school word problems; MATH: 4 competition-style problems (algebra, number
theory, geometry, counting). None is taken from or paraphrases a GSM8K or MATH item: they were
written here so that the few-shot prompt cannot leak a test answer. Each solution ends the way
the grader's strict extraction reads it ("The answer is N." for GSM8K, a final `\\boxed{}` for
MATH).
"""

from __future__ import annotations

GSM8K_SHOTS: tuple[tuple[str, str], ...] = (
    ("A baker makes 24 rolls in the morning and 18 in the afternoon. She sells 35 of them. "
     "How many rolls are left?",
     "She makes 24 + 18 = 42 rolls. After selling 35, 42 - 35 = 7 rolls are left. The answer is 7."),
    ("Tickets cost $6 for children and $9 for adults. A family buys 3 child tickets and 2 adult "
     "tickets. How much do they pay?",
     "Child tickets cost 3 * 6 = 18 dollars. Adult tickets cost 2 * 9 = 18 dollars. "
     "Together that is 18 + 18 = 36 dollars. The answer is 36."),
    ("A garden has 5 rows of tulips with 12 tulips in each row. A rabbit eats 9 tulips. "
     "How many tulips remain?",
     "There are 5 * 12 = 60 tulips. After the rabbit eats 9, 60 - 9 = 51 remain. The answer is 51."),
    ("Marco reads 15 pages a day. How many days does he need to finish a 180-page book?",
     "He needs 180 / 15 = 12 days. The answer is 12."),
    ("A tank holds 200 liters. It is one quarter full. How many liters must be added to fill it?",
     "One quarter of 200 is 200 / 4 = 50 liters. To fill it, 200 - 50 = 150 liters must be added. "
     "The answer is 150."),
    ("Priya earns $14 an hour and works 6 hours on Saturday and 5 hours on Sunday. She spends $40 "
     "on groceries. How much of her weekend pay is left?",
     "She works 6 + 5 = 11 hours and earns 11 * 14 = 154 dollars. After groceries, "
     "154 - 40 = 114 dollars are left. The answer is 114."),
    ("A class of 28 students splits into teams of 4. Each team needs 3 markers. How many markers "
     "are needed?",
     "There are 28 / 4 = 7 teams. They need 7 * 3 = 21 markers. The answer is 21."),
    ("A shirt costs $40 and is on sale for 25% off. How much does the shirt cost on sale?",
     "The discount is 40 * 25 / 100 = 10 dollars. The sale price is 40 - 10 = 30 dollars. "
     "The answer is 30."),
)

MATH_SHOTS: tuple[tuple[str, str], ...] = (
    ("Solve for $x$: $3x - 7 = 2x + 5$.",
     "Subtracting $2x$ from both sides gives $x - 7 = 5$, so $x = 12$. "
     "The final answer is $\\boxed{12}$."),
    ("What is the remainder when $2^{10}$ is divided by $7$?",
     "Since $2^3 = 8 \\equiv 1 \\pmod 7$, we have $2^{10} = (2^3)^3 \\cdot 2 \\equiv 2 \\pmod 7$. "
     "The final answer is $\\boxed{2}$."),
    ("A right triangle has legs of length $5$ and $12$. What is the length of its hypotenuse?",
     "By the Pythagorean theorem the hypotenuse is $\\sqrt{5^2 + 12^2} = \\sqrt{169} = 13$. "
     "The final answer is $\\boxed{13}$."),
    ("How many ways can a committee of $2$ people be chosen from $6$ people?",
     "The number of ways is $\\binom{6}{2} = \\frac{6 \\cdot 5}{2} = 15$. "
     "The final answer is $\\boxed{15}$."),
)
