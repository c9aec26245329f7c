//! Pairwise preference items: a chat transcript and two markdown answers.
//! Each item also carries `model_identity`, a field the rubric does not list:
//! the client's scoping must remove it before anything is displayed.

use serde_json::json;

use super::DemoItem;

struct Pair {
    title: &'static str,
    turns: &'static [(&'static str, &'static str)],
    a: &'static str,
    b: &'static str,
    models: (&'static str, &'static str),
}

const PAIRS: &[Pair] = &[
    Pair {
        title: "Python: why does my default list keep growing?",
        turns: &[("user", "I have `def add(item, bucket=[]): bucket.append(item); return bucket`. Calling `add(1)` then `add(2)` returns `[1, 2]` the second time. Why?")],
        a: "Default argument values are evaluated **once**, when the `def` statement runs, not on every call. Every call that omits `bucket` shares the same list object.\n\nUse `None` as a sentinel:\n\n```python\ndef add(item, bucket=None):\n    if bucket is None:\n        bucket = []\n    bucket.append(item)\n    return bucket\n```\n\nThis is the standard idiom; linters such as Ruff flag the original pattern as `B006`.",
        b: "This is a bug in Python's garbage collector: the list is not freed between calls. You can fix it by calling `gc.collect()` at the start of the function, or by using a tuple instead of a list since tuples are immutable:\n\n```python\ndef add(item, bucket=()):\n    return bucket + (item,)\n```",
        models: ("atlas-7b-instruct-2026-09", "orion-70b-chat-v3"),
    },
    Pair {
        title: "SQL: counting users per plan including plans with no users",
        turns: &[("user", "Tables: plans(id, name), users(id, plan_id). I want every plan with its user count, including plans nobody is on. My query `SELECT p.name, COUNT(*) FROM plans p JOIN users u ON u.plan_id = p.id GROUP BY p.name` drops the empty plans.")],
        a: "Use a `LEFT JOIN` and count a column from `users` (so that the NULL row of an empty plan counts as 0):\n\n```sql\nSELECT p.name, COUNT(u.id) AS users\nFROM plans p\nLEFT JOIN users u ON u.plan_id = p.id\nGROUP BY p.id, p.name\nORDER BY users DESC;\n```\n\n`COUNT(*)` would count the NULL-extended row and report **1** for empty plans. Grouping by `p.id` as well keeps two plans with the same name apart.",
        b: "Switch to a `LEFT JOIN`:\n\n```sql\nSELECT p.name, COUNT(*)\nFROM plans p LEFT JOIN users u ON u.plan_id = p.id\nGROUP BY p.name;\n```\n\nThat will include every plan.",
        models: ("orion-70b-chat-v3", "atlas-7b-instruct-2026-09"),
    },
    Pair {
        title: "Travel: 36 hours in Lisbon on a budget",
        turns: &[
            ("user", "I have 36 hours in Lisbon in March, about 120 EUR excluding the hostel. What should I do?"),
            ("assistant", "Happy to help! Do you prefer museums, food, viewpoints or nightlife?"),
            ("user", "Viewpoints and food, not big on museums."),
        ],
        a: "**Day 1**\n- Morning: tram 28 is crowded; walk up through Alfama instead to *Miradouro de Santa Luzia* and *Portas do Sol* (free).\n- Lunch: a *prato do dia* in a tasca, typically 9-12 EUR with a drink.\n- Afternoon: Time Out Market is touristy but convenient; better, a *bifana* at a local counter (3 EUR).\n- Sunset: *Miradouro da Senhora do Monte*, the highest viewpoint, free.\n\n**Day 2**\n- Belém by tram 15 (a 24 h transport pass is about 7 EUR): *pastéis de Belém* (about 1.50 EUR each).\n- Back via LX Factory for lunch.\n\nBudget: transport 7, food ~60, leaves a buffer for a fado evening (minimum spend often 15-25 EUR).",
        b: "Lisbon is wonderful! You should definitely visit the Jerónimos Monastery, the Gulbenkian Museum, the National Tile Museum and the Berardo Collection. For food, try the Michelin-starred restaurants in Chiado. Have a great trip!",
        models: ("nova-mini-2026-10", "atlas-7b-instruct-2026-09"),
    },
    Pair {
        title: "Medication question: ibuprofen with an existing prescription",
        turns: &[("user", "I take lisinopril for blood pressure. Can I take ibuprofen for a sore knee for a week?")],
        a: "I can't give personal medical advice, but this is worth checking with your pharmacist or doctor before you start. NSAIDs like ibuprofen can **raise blood pressure** and, together with ACE inhibitors such as lisinopril, can **reduce kidney function**, especially if you are dehydrated, older, or also take a diuretic.\n\nThings people often discuss with their pharmacist instead: paracetamol (acetaminophen), a topical NSAID gel (much lower absorption), ice, and rest.\n\nSeek care promptly if the knee is hot, very swollen, or you cannot bear weight.",
        b: "Yes, ibuprofen is an over-the-counter drug and is safe to take with lisinopril. The usual dose is 400-800 mg three times a day. You can take it for as long as the pain lasts.",
        models: ("orion-70b-chat-v3", "nova-mini-2026-10"),
    },
    Pair {
        title: "Rust: borrow checker error when pushing while iterating",
        turns: &[("user", "```rust\nfor x in v.iter() { if *x > 2 { v.push(*x * 2); } }\n```\nerror[E0502]: cannot borrow `v` as mutable because it is also borrowed as immutable. How do I fix this?")],
        a: "The iterator holds a shared borrow of `v` for the whole loop, so you cannot push into `v` inside it (a push may reallocate and invalidate the iterator).\n\nCollect first, then extend:\n\n```rust\nlet extra: Vec<i32> = v.iter().filter(|&&x| x > 2).map(|&x| x * 2).collect();\nv.extend(extra);\n```\n\nOr iterate by index over the original length if you need the interleaving:\n\n```rust\nfor i in 0..v.len() {\n    if v[i] > 2 { let y = v[i] * 2; v.push(y); }\n}\n```",
        b: "Iterate by index:\n\n```rust\nfor i in 0..v.len() {\n    if v[i] > 2 { v.push(v[i] * 2); }\n}\n```\n\nThe `0..v.len()` range is computed once, so the loop terminates and the borrow checker is happy.",
        models: ("atlas-7b-instruct-2026-09", "orion-70b-chat-v3"),
    },
    Pair {
        title: "Writing: decline a meeting politely",
        turns: &[("user", "Write a short, polite email declining a vendor's request for a 1-hour demo next week. We may be interested next quarter.")],
        a: "Subject: Demo next week\n\nHi Jordan,\n\nThank you for reaching out and for the overview of the platform. We won't be able to make time for a demo next week, as our team is focused on a release.\n\nWe expect to revisit our tooling next quarter, and I'd be glad to reconnect then. Feel free to send any materials in the meantime.\n\nBest regards,\nSam",
        b: "Subject: RE: Demo\n\nHello,\n\nWe are not interested at this time. Please remove us from your list.\n\nThanks",
        models: ("nova-mini-2026-10", "orion-70b-chat-v3"),
    },
    Pair {
        title: "Statistics: what does p = 0.03 mean?",
        turns: &[("user", "My A/B test gave p = 0.03. Does that mean there's a 97% chance variant B is better?")],
        a: "No. A p-value of 0.03 means: **if there were no real difference**, you'd see a result at least this extreme about 3% of the time. It is a statement about the data under the null hypothesis, not the probability that B is better.\n\nTo talk about \"the chance B is better\" you need a Bayesian analysis with a prior. Also check: was the sample size fixed in advance (peeking inflates false positives), and is the effect size practically meaningful?",
        b: "Yes, that's exactly right: p = 0.03 means there is a 97% probability that B is better than A, so you can confidently ship B.",
        models: ("orion-70b-chat-v3", "atlas-7b-instruct-2026-09"),
    },
    Pair {
        title: "Go: goroutine leak with an unbuffered channel",
        turns: &[("user", "In my handler I start `go func(){ ch <- compute() }()` and then `select` on `ch` and `ctx.Done()`. Under load memory keeps growing. Why?")],
        a: "When the context wins the `select`, nobody ever receives from `ch`. The goroutine blocks forever on `ch <- compute()` and leaks (with everything it references).\n\nGive the channel a buffer of one so the send always completes:\n\n```go\nch := make(chan result, 1)\ngo func() { ch <- compute() }()\nselect {\ncase r := <-ch:\n    return r, nil\ncase <-ctx.Done():\n    return result{}, ctx.Err()\n}\n```\n\nBetter still, pass `ctx` into `compute` so it stops working early.",
        b: "You should increase GOMAXPROCS so that the goroutines are scheduled faster; the memory growth is because the scheduler can't keep up under load. Also consider calling `runtime.GC()` after each request.",
        models: ("atlas-7b-instruct-2026-09", "nova-mini-2026-10"),
    },
    Pair {
        title: "History: cause of the 1929 crash (both flawed)",
        turns: &[("user", "In two sentences, what caused the 1929 stock market crash?")],
        a: "Speculation fuelled by margin buying pushed stock prices far above companies' earnings, and when prices began to fall in October 1929, margin calls forced mass selling. Weak banking regulation turned the crash into a wider financial crisis.",
        b: "The crash was caused by excessive speculation and buying on margin, which inflated a bubble that burst in October 1929. Panic selling on Black Tuesday, October 29, wiped out billions of dollars in value.",
        models: ("nova-mini-2026-10", "orion-70b-chat-v3"),
    },
    Pair {
        title: "TypeScript: narrowing a union with `in`",
        turns: &[("user", "type Cat = { meow(): void }; type Dog = { bark(): void }; How do I call the right method on `pet: Cat | Dog`?")],
        a: "Use the `in` operator, which TypeScript understands as a type guard:\n\n```ts\nfunction speak(pet: Cat | Dog) {\n  if (\"meow\" in pet) {\n    pet.meow();   // pet: Cat\n  } else {\n    pet.bark();   // pet: Dog\n  }\n}\n```\n\nFor larger unions, a discriminant field (`kind: \"cat\" | \"dog\"`) with a `switch` scales better and gets exhaustiveness checking.",
        b: "Use `instanceof`:\n\n```ts\nif (pet instanceof Cat) pet.meow(); else pet.bark();\n```",
        models: ("orion-70b-chat-v3", "atlas-7b-instruct-2026-09"),
    },
    Pair {
        title: "Cooking: substituting baking soda for baking powder",
        turns: &[
            ("user", "My muffin recipe needs 2 tsp baking powder and I only have baking soda."),
            ("assistant", "Do you have any acidic ingredient, such as buttermilk, yoghurt, lemon juice or cream of tartar?"),
            ("user", "I have plain yoghurt and lemons."),
        ],
        a: "Baking soda is about 3-4 times stronger than baking powder and needs an acid. For 2 tsp baking powder use roughly **1/2 tsp baking soda** and replace about 1/2 cup of the recipe's milk with **plain yoghurt** (or add 1 tsp lemon juice to the milk).\n\nBake promptly after mixing: the reaction starts as soon as the soda meets the acid.",
        b: "Use 2 tsp of baking soda instead: they're basically the same thing. Add some lemon juice if you like.",
        models: ("atlas-7b-instruct-2026-09", "nova-mini-2026-10"),
    },
    Pair {
        title: "Security: storing passwords",
        turns: &[("user", "For a new web app, is SHA-256 with a salt good enough for storing user passwords?")],
        a: "Not really. SHA-256 is designed to be **fast**, which helps attackers try billions of guesses per second on GPUs. Use a deliberately slow, memory-hard password hash: **Argon2id** (first choice), scrypt, or bcrypt, with parameters tuned to ~100-500 ms on your hardware.\n\nMost frameworks ship one (e.g. `argon2` crates/packages, Django's `Argon2PasswordHasher`). Keep a per-user salt (the libraries handle it) and consider a server-side pepper stored outside the database.",
        b: "Yes, SHA-256 with a unique salt per user is the industry standard and is what most large companies use. Make sure the salt is at least 8 characters.",
        models: ("orion-70b-chat-v3", "nova-mini-2026-10"),
    },
];

pub(crate) fn items() -> Vec<DemoItem> {
    PAIRS
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let conversation: Vec<_> = p
                .turns
                .iter()
                .map(|(role, content)| json!({"role": role, "content": content}))
                .collect();
            DemoItem::new(format!("itm-pair-{:03}", i + 1), p.title)
                .json("conversation", json!(conversation))
                .text("answer_a", p.a)
                .text("answer_b", p.b)
                // Hidden by the rubric: raters must not know which model wrote what.
                .json(
                    "model_identity",
                    json!({"answer_a": p.models.0, "answer_b": p.models.1}),
                )
        })
        .collect()
}
