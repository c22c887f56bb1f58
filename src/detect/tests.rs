use super::*;

const CORPUS_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/signals/corpus-known.jsonl"
);

fn source_of(name: &str) -> Source {
    match name {
        "cfn" => Source::Cfn,
        "ecs-task" => Source::EcsTask,
        "ecs-service" => Source::EcsService,
        "elb" => Source::Elb,
        "log" => Source::Log,
        "api" => Source::Api,
        other => panic!("unknown source {other}"),
    }
}

#[test]
fn corpus_known_lines_get_their_rule() {
    let implemented: std::collections::HashSet<&str> = rule_ids().collect();
    let (mut total, mut matched) = (0, 0);
    let mut failures = Vec::new();
    let corpus = std::fs::read_to_string(CORPUS_PATH).expect("corpus-known.jsonl is readable");
    for line in corpus.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("corpus line is JSON");
        let source = source_of(v["source"].as_str().unwrap());
        let text = v["text"].as_str().unwrap();
        let expect = v["expect"].as_str().unwrap();
        total += 1;
        let got = classify(source, text);
        let got_id = got.as_ref().map(|c| c.rule);
        if got_id == Some(expect) {
            matched += 1;
            let c = got.unwrap();
            assert!(!c.summary.is_empty() && !c.next_step.is_empty());
        } else if implemented.contains(expect) {
            failures.push(format!("{expect} <- got {got_id:?}: {text}"));
        }
    }
    println!("corpus: {matched}/{total} matched");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
#[ignore]
fn print_corpus_summaries() {
    let corpus = std::fs::read_to_string(CORPUS_PATH).unwrap();
    for line in corpus.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let c = classify(
            source_of(v["source"].as_str().unwrap()),
            v["text"].as_str().unwrap(),
        );
        println!(
            "{:40} | {}",
            c.as_ref().map_or("-", |c| c.rule),
            c.map(|c| c.summary).unwrap_or_default()
        );
    }
}
