"""Invented names that fit a nationality: common given names and surnames, combined at random.

Each naming culture lists female and male given names and surnames; cultures with gendered
surnames (Polish -ski/-ska, Bulgarian -ov/-ova, Lithuanian -as/-ienė) list the female form at the
same position. Spelling keeps the diacritics of the culture, because matching must cope with them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from victim_intake.synthetic.sampling import NOBODY, choose, distinct_indices, group_rows


@dataclass(frozen=True)
class NamingCulture:
    """How people of one culture are named."""

    female: tuple[str, ...]
    male: tuple[str, ...]
    surnames: tuple[str, ...]
    # Female forms aligned with `surnames`, where surnames are gendered; empty otherwise.
    female_surnames: tuple[str, ...] = ()
    # Probability of one, two, three ... given names.
    given_name_counts: tuple[float, ...] = (1.0,)
    # Share of persons with two surnames, joined by `surname_joiner`.
    double_surname: float = 0.0
    surname_joiner: str = "-"


CULTURES: dict[str, NamingCulture] = {
    "dutch": NamingCulture(
        female=(
            "Anna", "Maria", "Sanne", "Lotte", "Eva", "Fleur", "Daniëlle", "Zoë", "Noëlle", "Chloë",
            "Femke", "Iris", "Lieke", "Anouk", "Sophie", "Johanna", "Wilhelmina", "Esther", "Demi",
            "Kim", "Anne-Marie", "Marloes", "Naomi", "Joëlle", "Petronella", "Cornelia",
        ),
        male=(
            "Jan", "Pieter", "Daan", "Sem", "Lucas", "Thijs", "Bram", "Joël", "Noël", "Ruben",
            "Johannes", "Cornelis", "Hendrik", "Willem", "Jan-Willem", "Kevin", "Dennis", "Stefan",
            "Gerrit", "Jeroen", "Martijn", "Raphaël",
        ),
        surnames=(
            "de Vries", "van der Berg", "van den Heuvel", "Jansen", "de Jong", "van Dijk", "Bakker",
            "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters",
            "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits",
            "de Graaf", "van der Meer", "van der Linden", "Kok", "Jacobs", "de Haan", "Vermeulen",
            "van den Bosch", "van der Heijden", "Schouten", "van Beek", "Willems", "van Vliet",
            "van de Ven", "Hoekstra", "Maas", "Verhoeven", "Koster", "van Dam", "van der Wal",
            "Prins", "Blom", "Huisman", "de Bruijn", "van Wijk", "Kuipers", "van 't Hof",
        ),
        given_name_counts=(0.45, 0.45, 0.10),
        double_surname=0.12,
    ),
    "surinamese": NamingCulture(
        female=(
            "Sharmila", "Roshni", "Shanti", "Priscilla", "Chantal", "Jerusha", "Sarita", "Gianna",
        ),
        male=("Radjesh", "Ravi", "Kenneth", "Romano", "Dinesh", "Jermaine", "Sergio", "Rishi"),
        surnames=(
            "Ramdin", "Mahabier", "Sewdien", "Pinas", "Kartosen", "Wijngaarde", "Biharie", "Ramdas",
            "Sabajo", "Kromodimedjo", "Jadnanansing", "Tjon A Fat",
        ),
        given_name_counts=(0.6, 0.4),
    ),
    "polish": NamingCulture(
        female=(
            "Anna", "Katarzyna", "Małgorzata", "Agnieszka", "Joanna", "Magdalena", "Zofia",
            "Aleksandra", "Ewa", "Barbara", "Dorota", "Żaneta",
        ),
        male=(
            "Łukasz", "Piotr", "Krzysztof", "Tomasz", "Paweł", "Michał", "Marcin", "Grzegorz",
            "Jakub", "Wojciech", "Józef", "Mateusz",
        ),
        surnames=(
            "Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski",
            "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Kozłowski", "Jankowski", "Mazur",
            "Krawczyk",
        ),
        female_surnames=(
            "Nowak", "Kowalska", "Wiśniewska", "Wójcik", "Kowalczyk", "Kamińska", "Lewandowska",
            "Zielińska", "Szymańska", "Woźniak", "Dąbrowska", "Kozłowska", "Jankowska", "Mazur",
            "Krawczyk",
        ),
        given_name_counts=(0.6, 0.4),
        double_surname=0.03,
    ),
    "romanian": NamingCulture(
        female=(
            "Maria", "Elena", "Ioana", "Andreea", "Mihaela", "Alexandra", "Ana", "Cristina",
            "Gabriela", "Florentina", "Ramona", "Larisa",
        ),
        male=(
            "Ștefan", "Ion", "Gheorghe", "Andrei", "Mihai", "Alexandru", "Constantin", "Florin",
            "Marius", "Ionuț", "Răzvan", "Cătălin",
        ),
        surnames=(
            "Popescu", "Popa", "Ionescu", "Stan", "Dumitru", "Stoica", "Gheorghe", "Munteanu",
            "Matei", "Constantin", "Ștefănescu", "Rădulescu", "Mureșan", "Lăcătuș", "Țurcanu",
            "Dobre",
        ),
        given_name_counts=(0.55, 0.45),
    ),
    "bulgarian": NamingCulture(
        female=(
            "Maria", "Ivana", "Elena", "Desislava", "Gergana", "Radostina", "Svetlana", "Yordanka",
            "Petya", "Teodora",
        ),
        male=(
            "Georgi", "Ivan", "Dimitar", "Nikolay", "Hristo", "Stoyan", "Petar", "Todor", "Kaloyan",
            "Vasil",
        ),
        surnames=(
            "Ivanov", "Georgiev", "Dimitrov", "Petrov", "Nikolov", "Hristov", "Stoyanov", "Todorov",
            "Iliev", "Angelov", "Kostadinov",
        ),
        female_surnames=(
            "Ivanova", "Georgieva", "Dimitrova", "Petrova", "Nikolova", "Hristova", "Stoyanova",
            "Todorova", "Ilieva", "Angelova", "Kostadinova",
        ),
        given_name_counts=(0.9, 0.1),
    ),
    "hungarian": NamingCulture(
        female=(
            "Katalin", "Erzsébet", "Zsófia", "Réka", "Ágnes", "Eszter", "Anikó", "Krisztina",
            "Noémi", "Dóra",
        ),
        male=(
            "László", "István", "Zoltán", "Gábor", "Sándor", "Attila", "Péter", "Tamás", "Balázs",
            "Gergő",
        ),
        surnames=(
            "Nagy", "Kovács", "Tóth", "Szabó", "Horváth", "Varga", "Kiss", "Molnár", "Németh",
            "Farkas", "Balogh", "Papp", "Lakatos", "Oláh",
        ),
        given_name_counts=(0.7, 0.3),
        double_surname=0.05,
    ),
    "lithuanian": NamingCulture(
        female=("Ona", "Rūta", "Eglė", "Jurgita", "Inga", "Lina", "Aušra", "Giedrė"),
        male=("Jonas", "Tomas", "Mantas", "Darius", "Andrius", "Žydrūnas", "Paulius", "Vytautas"),
        surnames=(
            "Kazlauskas", "Jankauskas", "Petrauskas", "Stankevičius", "Vasiliauskas", "Žukauskas",
            "Butkus", "Paulauskas",
        ),
        female_surnames=(
            "Kazlauskienė", "Jankauskienė", "Petrauskienė", "Stankevičienė", "Vasiliauskienė",
            "Žukauskienė", "Butkienė", "Paulauskienė",
        ),
        given_name_counts=(0.85, 0.15),
    ),
    "ukrainian": NamingCulture(
        female=(
            "Olena", "Oksana", "Iryna", "Nataliia", "Tetiana", "Yuliia", "Svitlana", "Kateryna",
            "Viktoriia", "Anastasiia",
        ),
        male=(
            "Oleksandr", "Andrii", "Serhii", "Volodymyr", "Dmytro", "Mykola", "Yurii", "Taras",
            "Bohdan", "Vasyl",
        ),
        surnames=(
            "Kovalenko", "Shevchenko", "Bondarenko", "Tkachenko", "Kravchenko", "Melnyk", "Oliinyk",
            "Kovalchuk", "Polishchuk", "Savchenko", "Marchenko", "Lysenko",
        ),
    ),
    "turkish": NamingCulture(
        female=(
            "Ayşe", "Fatma", "Emine", "Hatice", "Zeynep", "Elif", "Büşra", "Özlem", "Gül", "Merve",
        ),
        male=(
            "Mehmet", "Mustafa", "Ahmet", "Ali", "Hüseyin", "Hasan", "İbrahim", "Murat", "Emre",
            "Oğuz",
        ),
        surnames=(
            "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Yıldırım", "Öztürk", "Aydın",
            "Özdemir", "Arslan", "Doğan", "Kılıç", "Aslan", "Çetin",
        ),
        given_name_counts=(0.75, 0.25),
    ),
    "moroccan": NamingCulture(
        female=(
            "Fatima", "Khadija", "Naima", "Samira", "Malika", "Latifa", "Nadia", "Hanane", "Siham",
            "Imane",
        ),
        male=(
            "Mohamed", "Ahmed", "Youssef", "Mustapha", "Rachid", "Karim", "Said", "Hamza",
            "Abdelkader", "Ayoub",
        ),
        surnames=(
            "El Amrani", "Benali", "El Idrissi", "Bouzid", "Ouali", "Tahiri", "Ziani", "El Khattabi",
            "Boukhari", "Amrani", "Haddou", "Azzouzi",
        ),
        given_name_counts=(0.85, 0.15),
    ),
    "nigerian": NamingCulture(
        female=(
            "Blessing", "Chiamaka", "Ngozi", "Adaeze", "Funmilayo", "Precious", "Joy", "Favour",
            "Oluwaseun", "Gift", "Esther", "Mercy",
        ),
        male=(
            "Chinedu", "Emeka", "Oluwaseun", "Tunde", "Ikechukwu", "Godwin", "Samuel", "Uchenna",
            "Babatunde", "Daniel",
        ),
        surnames=(
            "Okonkwo", "Adeyemi", "Okafor", "Eze", "Nwosu", "Ogunleye", "Obi", "Adebayo", "Okoro",
            "Igwe", "Osagie", "Omoruyi", "Igbinedion", "Aigbe",
        ),
        given_name_counts=(0.4, 0.55, 0.05),
    ),
    "ugandan": NamingCulture(
        female=(
            "Grace", "Sarah", "Patience", "Esther", "Prossy", "Sharon", "Immaculate", "Harriet",
        ),
        male=("Moses", "Joseph", "Ronald", "Isaac", "Brian", "Emmanuel", "Denis", "Patrick"),
        surnames=(
            "Mukasa", "Ssempala", "Okello", "Kigozi", "Musoke", "Lubega", "Opio", "Nsubuga",
            "Wasswa", "Namutebi", "Akello", "Byaruhanga",
        ),
        given_name_counts=(0.6, 0.4),
    ),
    "sierra_leonean": NamingCulture(
        female=("Fatmata", "Aminata", "Isatu", "Mariama", "Hawa", "Kadiatu", "Adama", "Zainab"),
        male=("Mohamed", "Abdul", "Ibrahim", "Alhaji", "Sorie", "Momodu", "Foday", "Augustine"),
        surnames=(
            "Kamara", "Sesay", "Conteh", "Koroma", "Bangura", "Turay", "Kargbo", "Mansaray",
            "Jalloh", "Kanu",
        ),
        given_name_counts=(0.7, 0.3),
    ),
    "eritrean": NamingCulture(
        female=("Helen", "Selam", "Semhar", "Tsega", "Mebrat", "Winta", "Hiwet", "Lidya"),
        male=("Yonas", "Dawit", "Samuel", "Filmon", "Tesfay", "Habtom", "Mehari", "Kidane"),
        surnames=(
            "Tesfamariam", "Ghebremedhin", "Haile", "Berhane", "Tekle", "Gebremichael", "Woldu",
            "Kidane", "Abraha", "Yohannes",
        ),
    ),
    # Vietnamese given names come as middle plus given name ("Thi Lan"), without diacritics as in
    # the machine-readable zone of a passport.
    "vietnamese": NamingCulture(
        female=(
            "Thi Lan", "Thi Hoa", "Thi Mai", "Thi Thu", "Thi Huong", "Ngoc Anh", "Thu Trang",
            "Thi Linh",
        ),
        male=(
            "Van Nam", "Van Hung", "Duc Anh", "Minh Tuan", "Van Long", "Quang Huy", "Van Duc",
            "Thanh Tung",
        ),
        surnames=(
            "Nguyen", "Tran", "Le", "Pham", "Hoang", "Phan", "Vu", "Dang", "Bui", "Do", "Ho", "Ngo",
        ),
    ),
    "chinese": NamingCulture(
        female=("Xiaoling", "Meiling", "Yan", "Jing", "Hui", "Lina", "Xiu", "Fang", "Ying"),
        male=("Wei", "Jun", "Hao", "Jian", "Ming", "Qiang", "Tao", "Yong", "Bo"),
        surnames=(
            "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu",
            "Sun",
        ),
    ),
    "indian": NamingCulture(
        female=("Priya", "Anjali", "Sunita", "Lakshmi", "Pooja", "Kavita", "Deepa", "Meena"),
        male=("Rajesh", "Suresh", "Amit", "Ravi", "Sanjay", "Manoj", "Gurpreet", "Arjun", "Vikram"),
        surnames=(
            "Kumar", "Singh", "Sharma", "Patel", "Gupta", "Reddy", "Nair", "Das", "Yadav", "Khan",
        ),
        given_name_counts=(0.8, 0.2),
    ),
    "filipino": NamingCulture(
        female=(
            "Maricel", "Jocelyn", "Rowena", "Analyn", "Liza", "Rosalie", "Marites", "Jennifer",
            "Cristina", "Lorna",
        ),
        male=("Jose", "Rodel", "Jomar", "Rommel", "Ariel", "Reynaldo", "Eduardo", "Ramon"),
        surnames=(
            "Santos", "Reyes", "Cruz", "Bautista", "Ocampo", "Garcia", "Mendoza", "Dela Cruz",
            "Villanueva", "Aquino", "Ramos", "Castillo",
        ),
        given_name_counts=(0.5, 0.5),
    ),
    "thai": NamingCulture(
        female=(
            "Siriporn", "Malee", "Pornthip", "Supaporn", "Wanida", "Kanya", "Ratana", "Nittaya",
        ),
        male=("Somchai", "Somsak", "Prasert", "Anan", "Chaiya", "Kittisak"),
        surnames=(
            "Saetang", "Srisuk", "Wongsawat", "Chaiyaporn", "Boonmee", "Rattanakorn", "Suksawat",
            "Kaewkhao", "Thongchai", "Phromma",
        ),
    ),
    "brazilian": NamingCulture(
        female=(
            "Juliana", "Fernanda", "Letícia", "Bárbara", "Luíza", "Camila", "Jéssica", "Patrícia",
            "Tatiane",
        ),
        male=("João", "José", "Luís", "Thiago", "Rafael", "Lucas", "Gabriel", "Mateus"),
        surnames=(
            "Silva", "Santos", "Oliveira", "Souza", "Pereira", "Lima", "Gonçalves", "Araújo",
            "Conceição", "Ribeiro", "da Silva", "dos Santos",
        ),
        given_name_counts=(0.5, 0.5),
        double_surname=0.4,
        surname_joiner=" ",
    ),
    "hispanic": NamingCulture(
        female=(
            "María", "Luisa", "Carolina", "Valentina", "Yuliana", "Daniela", "Andrea", "Paola",
            "Yesenia", "Marisol",
        ),
        male=("José", "Juan", "Carlos", "Luis", "Andrés", "Jhon", "Wilson", "Julián"),
        surnames=(
            "García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez", "Gómez",
            "Díaz", "Ramírez", "Muñoz", "Peña",
        ),
        given_name_counts=(0.5, 0.5),
        double_surname=0.6,
        surname_joiner=" ",
    ),
}

# Naming culture by nationality; Dutch nationals include families of Surinamese, Moroccan and
# Turkish origin.
CULTURES_BY_NATIONALITY: dict[str, dict[str, float]] = {
    "NLD": {"dutch": 80, "surinamese": 7, "moroccan": 7, "turkish": 6},
    "SUR": {"surinamese": 1},
    "POL": {"polish": 1},
    "ROU": {"romanian": 1},
    "MDA": {"romanian": 1},
    "BGR": {"bulgarian": 1},
    "HUN": {"hungarian": 1},
    "LTU": {"lithuanian": 1},
    "UKR": {"ukrainian": 1},
    "TUR": {"turkish": 1},
    "MAR": {"moroccan": 1},
    "NGA": {"nigerian": 1},
    "UGA": {"ugandan": 1},
    "SLE": {"sierra_leonean": 1},
    "ERI": {"eritrean": 1},
    "VNM": {"vietnamese": 1},
    "CHN": {"chinese": 1},
    "IND": {"indian": 1},
    "PHL": {"filipino": 1},
    "THA": {"thai": 1},
    "BRA": {"brazilian": 1},
    "COL": {"hispanic": 1},
    "DOM": {"hispanic": 1},
}


def draw_names(
    rng: np.random.Generator, nationality: np.ndarray, female: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Surnames and given names (object arrays) for persons of these nationalities and sexes."""
    size = len(nationality)
    culture = np.empty(size, dtype=object)
    by_nationality = group_rows(nationality)
    for code, weights in CULTURES_BY_NATIONALITY.items():
        members = by_nationality.get(code, NOBODY)
        culture[members] = choose(rng, weights, len(members))
    surnames = np.empty(size, dtype=object)
    given_names = np.empty(size, dtype=object)
    by_culture = group_rows(culture)
    for name, spec in CULTURES.items():
        members = by_culture.get(name, NOBODY)
        surnames[members], given_names[members] = _draw_in_culture(rng, spec, female[members])
    return surnames, given_names


def _draw_in_culture(
    rng: np.random.Generator, spec: NamingCulture, female: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    size = len(female)
    surname_pool = np.array(spec.surnames, dtype=object)
    female_pool = np.array(spec.female_surnames or spec.surnames, dtype=object)
    first, second = distinct_indices(rng, len(surname_pool), size, 2)
    surnames = np.where(female, female_pool[first], surname_pool[first])
    double = rng.random(size) < spec.double_surname
    second_part = np.where(female, female_pool[second], surname_pool[second])
    surnames[double] = surnames[double] + spec.surname_joiner + second_part[double]

    counts = rng.choice(len(spec.given_name_counts), size=size, p=spec.given_name_counts) + 1
    given_names = np.empty(size, dtype=object)
    for pool, members in ((spec.female, np.flatnonzero(female)), (spec.male, np.flatnonzero(~female))):
        given_names[members] = _given_names(rng, np.array(pool, dtype=object), counts[members])
    return surnames, given_names


def _given_names(rng: np.random.Generator, pool: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """`counts[i]` different names from `pool`, space-separated."""
    picks = distinct_indices(rng, len(pool), len(counts), int(counts.max(initial=1)))
    names = pool[picks[0]]
    for position, pick in enumerate(picks[1:], start=2):
        names = np.where(counts >= position, names + " " + pool[pick], names)
    return names
