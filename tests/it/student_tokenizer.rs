//! The student's byte-level BPE: every caption round-trips, including characters the
//! training captions never contained, because training starts from all 256 bytes; and
//! the pitfall that motivates it (without the byte alphabet they are silently dropped).

use soundscribe::model::student::tokenizer::{
    decode_caption, encode_caption, load_tokenizer, special_tokens, train_bpe,
};

const CAPTIONS: &[&str] = &[
    "a dog barks while cars pass by",
    "rain falls on a metal roof",
    "a man speaks and a dog barks in the distance",
    "birds chirp in the morning while wind blows",
    "water flows in a stream and birds chirp",
    "a car engine idles and then accelerates away",
    "people talk in a crowded room",
    "footsteps on gravel and a door closes",
];

fn captions() -> impl Iterator<Item = &'static str> + Send {
    CAPTIONS.iter().copied().cycle().take(200)
}

#[test]
fn unseen_characters_round_trip() {
    let tok = train_bpe(captions(), 400, true).unwrap();
    let sp = special_tokens(&tok).unwrap();
    assert_eq!((sp.decoder_start, sp.pad, sp.eos), (0, 1, 2));
    for text in [
        "a dog barks",
        "Zürich café: naïve ☕ 雨, QX!",
        "a\ttab  and  spaces",
    ] {
        let ids = encode_caption(&tok, text).unwrap();
        assert_eq!(*ids.last().unwrap(), sp.eos);
        assert_eq!(decode_caption(&tok, &ids).unwrap(), text);
    }
    // Merges were learned: a frequent caption takes fewer tokens than bytes.
    assert!(encode_caption(&tok, CAPTIONS[0]).unwrap().len() < CAPTIONS[0].len() / 2);
}

#[test]
fn without_the_byte_alphabet_unseen_characters_are_dropped() {
    let tok = train_bpe(captions(), 400, false).unwrap();
    let ids = encode_caption(&tok, "café ☕").unwrap();
    let back = decode_caption(&tok, &ids).unwrap();
    assert_ne!(
        back, "café ☕",
        "the pitfall is gone; the alphabet may be unnecessary"
    );
}

#[test]
fn a_saved_tokenizer_loads_and_a_bad_one_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokenizer.json");
    let tok = train_bpe(captions(), 300, true).unwrap();
    tok.save(&path, false).unwrap();
    let again = load_tokenizer(&path).unwrap();
    assert_eq!(
        encode_caption(&again, "rain falls").unwrap(),
        encode_caption(&tok, "rain falls").unwrap()
    );
    std::fs::write(&path, "{ not json").unwrap();
    let err = load_tokenizer(&path).unwrap_err().to_string();
    assert!(err.contains("tokenizer.json"), "{err}");
}
